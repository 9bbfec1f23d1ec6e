"""The browser tools on a running browser session: navigate, snapshot, click, type, wait,
screenshot, evaluate, scrape. Used by the `browser.*` jobs and the MCP `browser` tool.

Each call works on one page of the session: `target_id` when given (a closed one is
`page_not_found`), else the first page Chromium lists (an about:blank one is opened when there is
none: a browser starts with no page). Each
call opens its own DevTools socket to that page through `driver.open_port`, so nothing is kept
between calls but the browser itself. Errors are `ChasmError`s with stable codes
(`chasm.browser.exceptions`); nothing is left running when one is raised.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.browser import outline
from chasm.browser.exceptions import (
    ElementNotFound,
    EvaluateFailed,
    InvalidSelector,
    InvalidTarget,
    InvalidUrl,
    NavigationFailed,
    NavigationTimeout,
    PageNotFound,
    ResultTooLarge,
    ScreenshotTooLarge,
    WaitTimeout,
)
from chasm.browser.schemas import (
    ActionResult,
    EvaluateResult,
    NavigateResult,
    ScrapeResult,
    Screenshot,
    Snapshot,
)
from chasm.browser.scripts import ACT_JS, CONTENT_JS, FIND_JS, SNAPSHOT_JS
from chasm.models import SandboxSession
from chasm.sandbox.cdp import MAX_MESSAGE_BYTES, CdpConnection, CdpError, MessageTooLarge, http_json
from chasm.sandbox.runtime import SandboxRuntime
from chasm.sessions import service as sessions
from chasm.sessions.schemas import NetworkIn, SessionCreate

URL_SCHEMES = ("http", "https", "data", "about")


async def create_browser(
    db: AsyncSession,
    actor: Actor,
    runtime: SandboxRuntime,
    *,
    workspace: str | None = None,
    network: NetworkIn | None = None,
) -> sessions.Created:
    """A new browser session (ephemeral, or a browser workspace's: its live one is reused, then
    `created` is False). The caller's transaction commits the row; end it with
    `sessions.end_session(runtime, row, reason)` or `sessions.terminate`."""
    body = SessionCreate(
        session_type="browser", workspace=workspace, ephemeral=workspace is None, network=network
    )
    return await sessions.create_session(db, actor, runtime, body)


async def get_browser(
    db: AsyncSession, actor: Actor, session_id: str, runtime: SandboxRuntime
) -> SandboxSession:
    """A running browser session of the actor's account: `session_not_found` (404),
    `wrong_session_type` (400, a sandbox), `session_not_running` (409)."""
    return await sessions.get_running(db, actor, session_id, runtime, session_type="browser")


async def pages(runtime: SandboxRuntime, row: SandboxSession) -> list[dict[str, Any]]:
    """The session's open pages as Chromium lists them (`id`, `url`, `title`, ...)."""
    targets = await http_json(runtime.driver, str(row.id), "/json/list")
    return [t for t in targets if t.get("type") == "page"]


async def _target(runtime: SandboxRuntime, row: SandboxSession, target_id: str | None) -> dict[str, Any]:
    listed = await pages(runtime, row)
    if target_id is not None:
        for target in listed:
            if target.get("id") == target_id:
                return target
        raise PageNotFound(f"No open page {target_id} in session {row.id} (it was closed?)")
    if listed:
        return listed[0]
    created: dict[str, Any] = await http_json(runtime.driver, str(row.id), "/json/new?about:blank", "PUT")
    return created


@asynccontextmanager
async def page(
    runtime: SandboxRuntime,
    row: SandboxSession,
    target_id: str | None = None,
    *,
    max_size: int = MAX_MESSAGE_BYTES,
) -> AsyncIterator[CdpConnection]:
    """A DevTools connection to one page of the session (closed on exit)."""
    runtime.leases.touch(str(row.id))  # browser tools keep a session from idling out
    target = await _target(runtime, row, target_id)
    try:
        conn = await CdpConnection.open(
            runtime.driver, str(row.id), f"/devtools/page/{target['id']}", max_size=max_size
        )
    except CdpError:
        # A page being closed is still listed for a moment, but takes no socket.
        await asyncio.sleep(0.1)
        if not any(t.get("id") == target["id"] for t in await pages(runtime, row)):
            raise PageNotFound(f"Page {target['id']} of session {row.id} was closed") from None
        raise
    try:
        yield conn
    finally:
        await conn.close()


def _timeout(runtime: SandboxRuntime, timeout_s: float | None) -> float:
    return float(timeout_s or runtime.settings.browser_action_timeout_s)


def check_url(url: str) -> str:
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in URL_SCHEMES:
        raise InvalidUrl(f"Only {', '.join(URL_SCHEMES)} URLs can be opened, not {url[:100]!r}")
    return url.strip()


async def _call_js(conn: CdpConnection, function: str, *args: Any, timeout: float = 30.0) -> Any:
    """`function(...args)` in the page; its JSON value (exceptions become `EvaluateFailed`)."""
    expression = f"({function})({', '.join(json.dumps(a) for a in args)})"
    answer = await conn.call(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        timeout=timeout,
    )
    _raise_thrown(answer)
    return answer.get("result", {}).get("value")


def _raise_thrown(answer: dict[str, Any]) -> None:
    details = answer.get("exceptionDetails")
    if details:
        thrown = details.get("exception") or {}
        message = thrown.get("description") or details.get("text") or "the expression threw"
        raise EvaluateFailed(str(message)[:2000])


async def _navigate(conn: CdpConnection, url: str, timeout: float) -> NavigateResult:
    await conn.call("Page.enable")
    await conn.call("Network.enable")
    statuses: dict[str, int] = {}
    loaded = asyncio.Event()

    def on_event(event: dict[str, Any]) -> None:
        params = event.get("params") or {}
        if event.get("method") == "Network.responseReceived" and params.get("type") == "Document":
            statuses[params.get("loaderId", "")] = int(params.get("response", {}).get("status", 0))
        elif event.get("method") == "Page.loadEventFired":
            loaded.set()

    stop = conn.listen(on_event)
    try:
        navigated = await conn.call("Page.navigate", {"url": url}, timeout=timeout)
        if navigated.get("errorText"):
            raise NavigationFailed(f"Could not open {url[:200]}: {navigated['errorText']}")
        loader = navigated.get("loaderId")
        if loader:  # none for a same-document navigation (#fragment)
            try:
                await asyncio.wait_for(loaded.wait(), timeout)
            except TimeoutError as exc:
                raise NavigationTimeout(f"{url[:200]} did not finish loading in {timeout:g} s") from exc
    finally:
        stop()
    info = await _call_js(conn, "() => ({url: location.href, title: document.title})")
    return NavigateResult(url=info["url"], status=statuses.get(loader or "") or None, title=info["title"])


async def navigate(
    runtime: SandboxRuntime,
    row: SandboxSession,
    url: str,
    *,
    target_id: str | None = None,
    timeout_s: float | None = None,
) -> NavigateResult:
    """Open `url` (http, https, data or about) and wait for its load event."""
    url = check_url(url)
    async with page(runtime, row, target_id) as conn:
        return await _navigate(conn, url, _timeout(runtime, timeout_s))


async def snapshot(
    runtime: SandboxRuntime,
    row: SandboxSession,
    *,
    target_id: str | None = None,
    max_chars: int = 20_000,
    max_lines: int = 500,
) -> Snapshot:
    """The page as text for a model: URL, title, visible text, and its accessibility outline
    (`chasm.browser.outline`) whose elements carry the refs `click` and `type_text` take."""
    async with page(runtime, row, target_id) as conn:
        data = await _call_js(conn, SNAPSHOT_JS, max_chars)
        tree = await outline.outline(conn, max_lines=max_lines)
    return Snapshot(
        url=data["url"],
        title=data["title"],
        text=data["text"],
        text_truncated=data["text_truncated"],
        outline=tree.text,
        outline_truncated=tree.truncated,
    )


def _target_of(selector: str | None, ref: str | None) -> tuple[str | None, str | None]:
    if (selector is None) == (ref is None):
        raise InvalidTarget("Give either a ref (from a snapshot) or a CSS selector")
    return selector, ref


async def _find(conn: CdpConnection, selector: str | None, ref: str | None, mode: bool | str) -> str:
    """Find the element (by ref or selector), scroll it into view, focus it, then `mode`."""
    if ref is not None:
        object_id = await outline.resolve(conn, ref)
        answer = await conn.call(
            "Runtime.callFunctionOn",
            {
                "objectId": object_id,
                "functionDeclaration": f"function (mode) {{ return ({ACT_JS})(this, mode); }}",
                "arguments": [{"value": mode}],
                "returnByValue": True,
                "userGesture": True,
            },
        )
        _raise_thrown(answer)
        found = answer.get("result", {}).get("value") or {"error": "no answer"}
        if "error" in found:
            raise ElementNotFound(f"{ref} is not an element that can be clicked or typed into")
    else:
        found = await _call_js(conn, FIND_JS, selector, mode)
        if found is None:
            raise ElementNotFound(f"No element matches {selector!r}")
        if "invalid" in found:
            raise InvalidSelector(f"Invalid selector {selector!r}: {found['invalid']}")
    tag: str = found["tag"]
    return tag


async def _url(conn: CdpConnection) -> str:
    url: str = await _call_js(conn, "() => location.href")
    return url


async def click(
    runtime: SandboxRuntime,
    row: SandboxSession,
    selector: str | None = None,
    *,
    ref: str | None = None,
    target_id: str | None = None,
) -> ActionResult:
    """Click the element `ref` names, or the first one matching the CSS `selector` (scrolled
    into view first)."""
    selector, ref = _target_of(selector, ref)
    async with page(runtime, row, target_id) as conn:
        await _find(conn, selector, ref, "click")
        return ActionResult(action="click", selector=selector, ref=ref, url=await _url(conn))


async def type_text(
    runtime: SandboxRuntime,
    row: SandboxSession,
    selector: str | None,
    text: str,
    *,
    ref: str | None = None,
    clear: bool = False,
    submit: bool = False,
    target_id: str | None = None,
) -> ActionResult:
    """Focus the element `ref` names or the first matching `selector` and type `text` into it
    (`clear` empties it first; `submit` presses Enter after)."""
    selector, ref = _target_of(selector, ref)
    async with page(runtime, row, target_id) as conn:
        await _find(conn, selector, ref, clear)
        await conn.call("Input.insertText", {"text": text})
        if submit:
            key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
            await conn.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
            await conn.call("Input.dispatchKeyEvent", {"type": "keyUp", **key})
        return ActionResult(action="type", selector=selector, ref=ref, url=await _url(conn))


async def wait(
    runtime: SandboxRuntime,
    row: SandboxSession,
    *,
    selector: str | None = None,
    ms: int | None = None,
    target_id: str | None = None,
    timeout_s: float | None = None,
) -> ActionResult:
    """Wait until an element matches `selector`, or for `ms` milliseconds."""
    timeout = _timeout(runtime, timeout_s)
    async with page(runtime, row, target_id) as conn:
        if selector is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            check = "(s) => { try { return !!document.querySelector(s); } catch (e) { return null; } }"
            while True:
                present = await _call_js(conn, check, selector)
                if present is None:
                    raise InvalidSelector(f"Invalid selector {selector!r}")
                if present:
                    break
                if loop.time() > deadline:
                    raise WaitTimeout(f"No element matched {selector!r} within {timeout:g} s")
                await asyncio.sleep(0.1)
        elif ms is not None:
            await asyncio.sleep(min(ms / 1000, timeout))
        return ActionResult(action="wait", selector=selector, url=await _url(conn))


async def evaluate(
    runtime: SandboxRuntime,
    row: SandboxSession,
    expression: str,
    *,
    target_id: str | None = None,
    timeout_s: float | None = None,
) -> EvaluateResult:
    """Evaluate a JavaScript expression in the page (promises are awaited); its value as JSON,
    at most `browser_evaluate_max_bytes` (else `result_too_large`)."""
    limit = runtime.settings.browser_evaluate_max_bytes
    timeout = _timeout(runtime, timeout_s)
    async with page(runtime, row, target_id, max_size=2 * limit + 65536) as conn:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True, "userGesture": True}
        try:
            answer = await conn.call("Runtime.evaluate", params, timeout=timeout)
        except MessageTooLarge as exc:
            raise ResultTooLarge(f"The result is larger than {limit} bytes") from exc
    _raise_thrown(answer)
    result = answer.get("result", {})
    value = result.get("unserializableValue", result.get("value"))
    if len(json.dumps(value)) > limit:
        raise ResultTooLarge(f"The result is larger than {limit} bytes")
    return EvaluateResult(value=value, type=str(result.get("subtype") or result.get("type") or "undefined"))


async def screenshot(
    runtime: SandboxRuntime,
    row: SandboxSession,
    *,
    full_page: bool = False,
    target_id: str | None = None,
) -> Screenshot:
    """A PNG of the viewport, or of the whole page (`full_page`), at most
    `browser_screenshot_max_pixels` (else `screenshot_too_large`)."""
    limit = runtime.settings.browser_screenshot_max_pixels
    async with page(runtime, row, target_id) as conn:
        metrics = await conn.call("Page.getLayoutMetrics")
        if full_page:
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            width, height = math.ceil(size["width"]), math.ceil(size["height"])
        else:
            view = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
            width, height = int(view["clientWidth"]), int(view["clientHeight"])
        if width * height > limit:
            raise ScreenshotTooLarge(
                f"The page is {width}x{height} px, more than {limit} pixels: take the viewport "
                "(full_page false) or scroll"
            )
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            params.update(captureBeyondViewport=True, clip=clip)
        shot = await conn.call("Page.captureScreenshot", params, timeout=_timeout(runtime, None) * 2)
    return Screenshot(png=base64.b64decode(shot["data"]), width=width, height=height)


async def scrape(
    runtime: SandboxRuntime,
    row: SandboxSession,
    url: str,
    *,
    max_chars: int = 1_000_000,
    timeout_s: float | None = None,
    target_id: str | None = None,
) -> ScrapeResult:
    """Open `url` and return its title, visible text and HTML (each cut at `max_chars`), the final
    URL after redirects and the HTTP status."""
    url = check_url(url)
    async with page(runtime, row, target_id) as conn:
        navigated = await _navigate(conn, url, _timeout(runtime, timeout_s))
        data = await _call_js(conn, CONTENT_JS, max_chars)
    return ScrapeResult(
        url=url,
        final_url=data["url"],
        status=navigated.status,
        title=data["title"],
        text=data["text"],
        html=data["html"],
        truncated=data["truncated"],
    )

"""`browser`: drive a browser session (navigate, snapshot, click, type, screenshot, evaluate).

The tool is written against `BrowserService`, the few operations it needs from the browser
domain. The registry includes it only when there is such a service: `app.state.browser_service`
when something set one, else the browser domain's module `chasm.browser.service` (its
`navigate`, `snapshot`, `click`, `type_text`, `screenshot`, `evaluate`) behind
`ServiceModuleAdapter`, when that module is installed. Without either the tool is not listed at
all, rather than listed and failing.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.models import SandboxSession
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service as sessions
from chasm.tools.base import ImagePart, TextPart, Tool, ToolContext, ToolError, ToolResult

Action = Literal["navigate", "snapshot", "click", "type", "screenshot", "evaluate"]


@runtime_checkable
class BrowserService(Protocol):
    """What the browser tool needs of the browser domain. Each call acts on one running browser
    session (`row`, already checked to be the caller's and of type browser) and returns plain
    JSON-able facts; failures are ChasmErrors (a closed page, a ref that no longer exists, a
    navigation that timed out)."""

    async def navigate(self, db: AsyncSession, actor: Actor, row: SandboxSession, url: str) -> dict[str, Any]:
        """Load `url`; answers at least {"url", "title", "status"}."""
        ...

    async def snapshot(self, db: AsyncSession, actor: Actor, row: SandboxSession) -> dict[str, Any]:
        """The page as a model reads it: {"url", "title", "text", "outline"}, the outline being the
        accessibility tree with a `ref` on each element that click and type accept."""
        ...

    async def click(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, *, ref: str | None, selector: str | None
    ) -> dict[str, Any]: ...

    async def type(
        self,
        db: AsyncSession,
        actor: Actor,
        row: SandboxSession,
        text: str,
        *,
        ref: str | None,
        selector: str | None,
        submit: bool,
    ) -> dict[str, Any]: ...

    async def screenshot(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, *, full_page: bool
    ) -> bytes:
        """A PNG of the page."""
        ...

    async def evaluate(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, expression: str
    ) -> dict[str, Any]:
        """Run JavaScript in the page: {"value": <JSON-able result>}."""
        ...


SERVICE_MODULE = "chasm.browser.service"
SERVICE_FUNCTIONS = ("navigate", "snapshot", "click", "type_text", "screenshot", "evaluate")


@functools.cache
def _service_module() -> Any | None:
    """The browser domain's service module, when this installation has one with every function
    the adapter calls."""
    try:
        module = importlib.import_module(SERVICE_MODULE)
    except ImportError:
        return None
    return module if all(callable(getattr(module, f, None)) for f in SERVICE_FUNCTIONS) else None


def _facts(value: Any) -> dict[str, Any]:
    dumped = value.model_dump(mode="json") if hasattr(value, "model_dump") else dict(value)
    return dict(dumped)


class ServiceModuleAdapter:
    """`chasm.browser.service` (functions of the sandbox runtime and the session row) as a
    `BrowserService`. Refs are the service's own (`chasm.browser.outline`): each names one element
    of the page for as long as it is there."""

    def __init__(self, module: Any, app: Any) -> None:
        self.module = module
        self.app = app

    @property
    def runtime(self) -> Any:
        return runtime_of(self.app)

    async def navigate(self, db: AsyncSession, actor: Actor, row: SandboxSession, url: str) -> dict[str, Any]:
        return _facts(await self.module.navigate(self.runtime, row, url))

    async def snapshot(self, db: AsyncSession, actor: Actor, row: SandboxSession) -> dict[str, Any]:
        return _facts(await self.module.snapshot(self.runtime, row))

    async def click(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, *, ref: str | None, selector: str | None
    ) -> dict[str, Any]:
        return _facts(await self.module.click(self.runtime, row, selector, ref=ref))

    async def type(
        self,
        db: AsyncSession,
        actor: Actor,
        row: SandboxSession,
        text: str,
        *,
        ref: str | None,
        selector: str | None,
        submit: bool,
    ) -> dict[str, Any]:
        return _facts(await self.module.type_text(self.runtime, row, selector, text, ref=ref, submit=submit))

    async def screenshot(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, *, full_page: bool
    ) -> bytes:
        shot = await self.module.screenshot(self.runtime, row, full_page=full_page)
        png: bytes = shot.png
        return png

    async def evaluate(
        self, db: AsyncSession, actor: Actor, row: SandboxSession, expression: str
    ) -> dict[str, Any]:
        return _facts(await self.module.evaluate(self.runtime, row, expression))


def browser_service(app: Any) -> BrowserService | None:
    service = getattr(app.state, "browser_service", None)
    if isinstance(service, BrowserService):
        return service
    module = _service_module()
    return ServiceModuleAdapter(module, app) if module is not None else None


class BrowserArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(
        description="a running browser session (create_session with session_type browser)"
    )
    action: Action
    url: str | None = Field(default=None, max_length=8000, description="navigate: the address to load")
    ref: str | None = Field(
        default=None,
        max_length=200,
        description="click/type: an element ref from snapshot (e.g. e42); snapshot again after navigating",
    )
    selector: str | None = Field(
        default=None, max_length=2000, description="click/type: a CSS selector instead of a ref"
    )
    text: str | None = Field(default=None, max_length=100_000, description="type: the text to enter")
    submit: bool = Field(default=False, description="type: press Enter afterwards")
    full_page: bool = Field(default=False, description="screenshot: the whole page, not just the viewport")
    expression: str | None = Field(
        default=None, max_length=100_000, description="evaluate: JavaScript to run"
    )

    @model_validator(mode="after")
    def _complete(self) -> BrowserArgs:
        if self.action == "navigate" and not self.url:
            raise ValueError("navigate needs url")
        if self.action in ("click", "type") and (self.ref is None) == (self.selector is None):
            raise ValueError(f"{self.action} needs either ref or selector")
        if self.action == "type" and self.text is None:
            raise ValueError("type needs text")
        if self.action == "evaluate" and not self.expression:
            raise ValueError("evaluate needs expression")
        return self


def snapshot_text(facts: dict[str, Any]) -> str:
    """A snapshot as a model reads it best: the outline and the text as they are, not as JSON."""
    url = str(facts.get("url", ""))
    parts = [f"Page: {facts.get('title', '')!r} at {url[:300] + ('…' if len(url) > 300 else '')}"]
    if "outline" in facts:
        cut = "\n(outline cut here)" if facts.get("outline_truncated") else ""
        parts.append(f"Outline (click and type take a ref):\n{facts['outline'] or '(empty)'}{cut}")
    cut = "\n(text cut here)" if facts.get("text_truncated") else ""
    parts.append(f"Text:\n{facts.get('text', '')}{cut}")
    return "\n\n".join(parts)


def browser_scope(args: BrowserArgs) -> str:
    return "sessions.read" if args.action in ("snapshot", "screenshot") else "exec.write"


async def browser_session(ctx: ToolContext, session_id: str) -> SandboxSession:
    row = await sessions.get_running(ctx.db, ctx.actor, session_id, runtime_of(ctx.app))
    if row.session_type != "browser":
        raise ToolError(
            f"session {row.id} is a {row.session_type} session; the browser tool needs a browser session"
            + (" (use the terminal tool)" if row.session_type == "sandbox" else ""),
            code="wrong_session_type",
        )
    return row


async def browser(ctx: ToolContext, args: BrowserArgs) -> ToolResult:
    service = browser_service(ctx.app)
    if service is None:
        raise ToolError("this server has no browser service", code="browser_unavailable")
    row = await browser_session(ctx, args.session_id)
    where = {"session_id": str(row.id), "action": args.action}
    db, actor = ctx.db, ctx.actor
    if args.action == "screenshot":
        png = await service.screenshot(db, actor, row, full_page=args.full_page)
        return ToolResult.of(
            {**where, "bytes": len(png), "mime_type": "image/png"}, ImagePart(png, "image/png")
        )
    if args.action == "navigate":
        assert args.url is not None
        facts = await service.navigate(db, actor, row, args.url)
    elif args.action == "snapshot":
        facts = await service.snapshot(db, actor, row)
        return ToolResult([TextPart(snapshot_text(facts))], {**where, **facts})
    elif args.action == "click":
        facts = await service.click(db, actor, row, ref=args.ref, selector=args.selector)
    elif args.action == "type":
        assert args.text is not None
        facts = await service.type(
            db, actor, row, args.text, ref=args.ref, selector=args.selector, submit=args.submit
        )
    else:
        assert args.expression is not None
        facts = await service.evaluate(db, actor, row, args.expression)
    return ToolResult.of({**where, **facts})


BROWSER = Tool(
    name="browser",
    title="Browser",
    description=(
        "Drive a browser session: navigate to a URL, snapshot the page (its text and an accessibility "
        "outline whose elements carry refs), click or type into an element by ref or CSS selector, "
        "take a PNG screenshot, or evaluate JavaScript. A ref holds while its element is on the page: "
        "snapshot again after navigating. Start one with create_session (session_type browser)."
    ),
    args=BrowserArgs,
    handler=browser,
    scope=browser_scope,
    scopes=("sessions.read", "exec.write"),
)

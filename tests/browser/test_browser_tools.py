"""The browser tools (chasm.browser.service) and the browser.* jobs on real Chromium, with the
bad input of issue 12: a clear error in the platform's shape and nothing left running."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from browser.helpers import create_browser
from chasm.browser import service
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.models import SandboxSession
from chasm.sessions import repository as repo
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox

FORM = (
    "data:text/html,<title>form</title><input id=q placeholder=Query>"
    "<button id=go onclick=\"document.getElementById('out').textContent="
    "'got '+document.getElementById('q').value\">"
    "Go</button><p id=out></p>"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"browser_evaluate_max_bytes": 10_000})


async def _row(app: FastAPI, session_id: str) -> SandboxSession:
    async with transaction(app.state.sessionmaker) as db:
        row = await repo.get_any(db, uuid.UUID(session_id))
        assert row is not None
        return row


def _ref(outline: str, start: str) -> str:
    """The ref of the first outline line (its role and name) that begins with `start`."""
    for line in outline.splitlines():
        if line.lstrip(" -").startswith(start):
            found = re.search(r"\[ref=(e[0-9]+)\]", line)
            assert found, line
            return found.group(1)
    raise AssertionError(f"no {start!r} in the outline:\n{outline}")


async def _error(awaitable: Any) -> ChasmError:
    with pytest.raises(ChasmError) as caught:
        await awaitable
    return caught.value


async def test_tools_drive_a_page_and_refuse_bad_input(app: FastAPI, admin: httpx.AsyncClient) -> None:
    runtime = app.state.sandbox
    session = await create_browser(admin)
    row = await _row(app, session["id"])

    opened = await service.navigate(runtime, row, FORM)
    assert opened.title == "form" and opened.url.startswith("data:")
    snap = await service.snapshot(runtime, row)
    assert snap.title == "form" and not snap.outline_truncated
    textbox, button = _ref(snap.outline, 'textbox "Query"'), _ref(snap.outline, 'button "Go"')
    await service.type_text(runtime, row, None, "chasm", ref=textbox)
    await service.click(runtime, row, ref=button)
    out = "document.getElementById('out').textContent"
    assert (await service.evaluate(runtime, row, out)).value == "got chasm"
    assert _ref((await service.snapshot(runtime, row)).outline, 'button "Go"') == button  # refs hold
    await service.type_text(runtime, row, "#q", "again", clear=True)  # CSS selectors work too
    await service.click(runtime, row, "#go")
    assert (await service.evaluate(runtime, row, out)).value == "got again"
    assert (await service.evaluate(runtime, row, "Promise.resolve({a: [1, 2]})")).value == {"a": [1, 2]}
    shot = await service.screenshot(runtime, row)
    assert shot.png.startswith(b"\x89PNG") and shot.width > 0

    assert (await _error(service.click(runtime, row, "#missing"))).code == "element_not_found"
    assert (await _error(service.click(runtime, row, "##"))).code == "invalid_selector"
    assert (await _error(service.click(runtime, row, ref="button"))).code == "invalid_ref"
    assert (await _error(service.click(runtime, row))).code == "invalid_target"
    assert (await _error(service.evaluate(runtime, row, "throw new Error('boom')"))).code == "evaluate_failed"
    big = await _error(service.evaluate(runtime, row, "'x'.repeat(50000)"))
    assert big.code == "result_too_large" and big.status_code == 413
    huge = await _error(service.evaluate(runtime, row, "'x'.repeat(200000)"))  # over the socket's cap
    assert huge.code == "result_too_large"
    assert (await _error(service.navigate(runtime, row, "file:///etc/passwd"))).code == "invalid_url"
    blocked = await _error(service.navigate(runtime, row, "http://10.0.2.2/", timeout_s=10))
    assert blocked.code == "navigation_failed" and "ERR_" in blocked.message
    await service.navigate(runtime, row, "data:text/html,<body style='height:100000px'>tall</body>")
    gone = await _error(service.click(runtime, row, ref=button))  # that page is gone
    assert gone.code == "ref_not_found" and "snapshot" in gone.message
    tall = await _error(service.screenshot(runtime, row, full_page=True))
    assert tall.code == "screenshot_too_large" and tall.status_code == 413

    page_id = (await service.pages(runtime, row))[0]["id"]
    headers = {"X-Chasm-Session-Token": session["access_token"]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        closed = await http.get(f"/s/{session['id']}/json/close/{page_id}", headers=headers)
        assert closed.status_code == 200, closed.text
    # page_closed while Chromium still detaches it, page_not_found once it is gone from the list
    assert (await _error(service.evaluate(runtime, row, "1", target_id=page_id))).code in {
        "page_not_found",
        "page_closed",
    }
    assert (await service.evaluate(runtime, row, "1+1")).value == 2  # a new page is opened

    await admin.delete(f"/v1/sessions/{session['id']}", params={"force": "true"})
    assert (await _error(service.evaluate(runtime, row, "1"))).code in (
        "session_not_running",
        "browser_error",
    )


SIGN_IN = (
    "data:text/html,<title>in</title><h1>Sign in</h1><nav><a href=/help>Help</a></nav>"
    "<label>Email <input type=email required></label>"
    "<label><input type=checkbox checked> Remember me</label>"
    "<select aria-label=Plan><option>Free<option selected>Paid</select>"
    "<p>By continuing you <b>accept</b> the terms.</p><button disabled>Continue</button>"
)


async def test_the_snapshot_is_an_accessibility_outline(app: FastAPI, admin: httpx.AsyncClient) -> None:
    runtime = app.state.sandbox
    session = await create_browser(admin)
    row = await _row(app, session["id"])
    await service.navigate(runtime, row, SIGN_IN)
    snap = await service.snapshot(runtime, row)
    lines = [re.sub(r" \[ref=e[0-9]+\]", "", line) for line in snap.outline.splitlines()]
    assert lines[0] == '- heading "Sign in" [level=1]'
    for expected in (
        "- navigation",
        '  - link "Help"',
        '- textbox "Email" [required]',  # named by its label
        '- checkbox "Remember me" [checked]',
        "- paragraph: By continuing you accept the terms.",
        '- button "Continue" [disabled]',
    ):
        assert expected in lines, snap.outline
    assert any(line.startswith('- combobox "Plan"') for line in lines), snap.outline
    assert '  - option "Paid" [selected]' in lines, snap.outline
    assert "By continuing you accept the terms." in snap.text
    short = await service.snapshot(runtime, row, max_lines=2)
    assert short.outline_truncated and len(short.outline.splitlines()) == 2
    await admin.delete(f"/v1/sessions/{session['id']}", params={"force": "true"})


async def _finish(admin: httpx.AsyncClient, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    created = await admin.post("/v1/jobs", json={"kind": kind, "input": data})
    assert created.status_code == 201, created.text
    for _ in range(600):
        job: dict[str, Any] = (await admin.get(f"/v1/jobs/{created.json()['id']}")).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {kind} did not finish")


@contextlib.asynccontextmanager
async def fake_proxy() -> AsyncIterator[str]:
    """An HTTP proxy on the host that serves http://site.test/ itself (no outside network)."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ")[1].decode()
        seen.append(target)
        if target.endswith("/old"):
            answer = b"HTTP/1.1 301 Moved\r\nLocation: http://site.test/page\r\nContent-Length: 0\r\n\r\n"
        else:
            body = b"<html><head><title>Site</title></head><body><h1>Scraped text</h1></body></html>"
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
                len(body),
                body,
            )
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_jobs_action_and_scrape(app: FastAPI, admin: httpx.AsyncClient) -> None:
    kinds = {k["kind"]: k for k in (await admin.get("/v1/jobs/kinds")).json()["items"]}
    assert {"browser.action", "browser.scrape"} <= set(kinds)
    assert {"steps", "session_id", "workspace", "network"} <= set(
        kinds["browser.action"]["input_schema"]["properties"]
    )
    assert kinds["browser.scrape"]["input_schema"]["required"] == ["url"]
    steps = [
        {"action": "navigate", "url": FORM},
        {"action": "type", "selector": "#q", "text": "job"},
        {"action": "click", "selector": "#go"},
        {"action": "wait", "selector": "#out"},
        {"action": "evaluate", "expression": "document.getElementById('out').textContent"},
        {"action": "screenshot"},
    ]
    job = await _finish(admin, "browser.action", {"steps": steps})
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["steps"][4]["value"] == "got job" and result["steps"][5]["png_base64"]
    ended = (await admin.get(f"/v1/sessions/{result['session_id']}")).json()
    assert ended["status"] == "terminated" and ended["ended_reason"] == "completed"

    failed = await _finish(admin, "browser.action", {"steps": [{"action": "click", "selector": "#none"}]})
    assert failed["status"] == "failed"
    assert failed["result"]["steps"][-1]["error"]["code"] == "element_not_found"
    assert (await admin.get(f"/v1/sessions/{failed['result']['session_id']}")).json()[
        "status"
    ] == "terminated"

    async with fake_proxy() as proxy:
        network = {"mode": "proxy", "proxy": {"url": proxy}}
        scraped = await _finish(admin, "browser.scrape", {"url": "http://site.test/old", "network": network})
    assert scraped["status"] == "succeeded", scraped
    out = scraped["result"]
    assert out["final_url"] == "http://site.test/page" and out["status"] == 200
    assert out["title"] == "Site" and "Scraped text" in out["text"] and "<h1>" in out["html"]

    sandbox = await create_session(admin)
    wrong = await _finish(admin, "browser.scrape", {"url": "about:blank", "session_id": sandbox["id"]})
    assert wrong["status"] == "failed" and "sandbox session" in wrong["error"]
    await admin.delete(f"/v1/sessions/{sandbox['id']}", params={"force": "true"})

"""The browser tool's plumbing (scopes, session types, image content over MCP), driven through a
test double of the `BrowserService` protocol: the real service comes with the browser domain."""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from typing import Any

import pytest
from fastapi import FastAPI
from mcp.shared.exceptions import MCPError

from auth.idhelpers import make_key
from chasm.auth import repository as auth_repo
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import SandboxSession
from chasm.tools import BrowserService

pytestmark = pytest.mark.sandbox


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


class RecordingBrowser:
    """Answers like a browser would and records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def navigate(self, db: Any, actor: Any, row: Any, url: str) -> dict[str, Any]:
        self.calls.append(("navigate", url))
        return {"url": url, "title": "Example", "status": 200}

    async def snapshot(self, db: Any, actor: Any, row: Any) -> dict[str, Any]:
        return {
            "url": "https://example.com/",
            "title": "Example",
            "text": "Hello",
            "outline": "- button 'Go' [ref=e1]",
        }

    async def click(
        self, db: Any, actor: Any, row: Any, *, ref: str | None, selector: str | None
    ) -> dict[str, Any]:
        self.calls.append(("click", ref or selector))
        return {"clicked": ref or selector}

    async def type(
        self, db: Any, actor: Any, row: Any, text: str, *, ref: str | None, selector: str | None, submit: bool
    ) -> dict[str, Any]:
        self.calls.append(("type", (text, ref or selector, submit)))
        return {"typed": len(text)}

    async def screenshot(self, db: Any, actor: Any, row: Any, *, full_page: bool) -> bytes:
        return tiny_png()

    async def evaluate(self, db: Any, actor: Any, row: Any, expression: str) -> dict[str, Any]:
        return {"value": 42}


async def browser_row(app: FastAPI) -> str:
    """A running browser session's row (no machine behind it: the double answers for it)."""
    async with transaction(app.state.sessionmaker) as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
        row = SandboxSession(
            id=uuid.uuid4(),
            account_id=account.id,
            session_type="browser",
            status="running",
            ephemeral=True,
            driver="test-double",
            started_at=utcnow(),
        )
        db.add(row)
        await db.flush()
        return str(row.id)


def data(result: Any) -> dict[str, Any]:
    return dict(result.structured_content)


async def test_browser_tool_appears_with_a_browser_service(app: FastAPI, live, admin, admin_key, mcp_connect):
    browser = RecordingBrowser()
    assert isinstance(browser, BrowserService)
    app.state.browser_service = browser
    sid = await browser_row(app)
    async with mcp_connect(live.url, admin_key) as s:
        assert "browser" in {t.name for t in (await s.list_tools()).tools}
        went = data(
            await s.call_tool(
                "browser", {"session_id": sid, "action": "navigate", "url": "https://example.com/"}
            )
        )
        assert went == {
            "session_id": sid,
            "action": "navigate",
            "url": "https://example.com/",
            "title": "Example",
            "status": 200,
        }
        snap = data(await s.call_tool("browser", {"session_id": sid, "action": "snapshot"}))
        assert "[ref=e1]" in snap["outline"]
        await s.call_tool("browser", {"session_id": sid, "action": "click", "ref": "e1"})
        await s.call_tool(
            "browser", {"session_id": sid, "action": "type", "selector": "#q", "text": "hi", "submit": True}
        )
        assert browser.calls[1:] == [("click", "e1"), ("type", ("hi", "#q", True))]
        shot = await s.call_tool("browser", {"session_id": sid, "action": "screenshot"})
        images = [c for c in shot.content if c.type == "image"]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
        assert (
            data(
                await s.call_tool("browser", {"session_id": sid, "action": "evaluate", "expression": "6*7"})
            )["value"]
            == 42
        )

        neither = await s.call_tool("browser", {"session_id": sid, "action": "click"})
        assert neither.is_error and "ref or selector" in neither.content[0].text
        sandbox_id = data(await s.call_tool("create_session", {}))["id"]
        wrong = await s.call_tool("browser", {"session_id": sandbox_id, "action": "snapshot"})
        assert wrong.is_error and data(wrong)["error"]["code"] == "wrong_session_type"
        reverse = await s.call_tool("terminal", {"session_id": sid, "command": "true"})
        assert reverse.is_error and data(reverse)["error"]["code"] == "wrong_session_type"
        await s.call_tool("terminate_session", {"session_id": sandbox_id})

    reader = await make_key(admin, "reader", scopes=["sessions.read"])
    async with mcp_connect(live.url, reader) as s:
        assert (
            data(await s.call_tool("browser", {"session_id": sid, "action": "snapshot"}))["title"]
            == "Example"
        )
        with pytest.raises(MCPError):
            await s.call_tool("browser", {"session_id": sid, "action": "evaluate", "expression": "1"})

"""The MCP `browser` tool on a real Chromium browser session, through the SDK's client: create,
navigate, snapshot, type and click by ref, evaluate, and a PNG screenshot as image content."""

from __future__ import annotations

import base64
from typing import Any

import pytest

pytestmark = pytest.mark.sandbox

PAGE = (
    "data:text/html,<title>Form</title><input id=q aria-label=Query>"
    "<button onclick=\"document.title='got '+document.getElementById('q').value\">Go</button>"
)


def facts(result: Any) -> dict[str, Any]:
    assert result.is_error is False, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def test_the_browser_tool_drives_real_chromium(live, admin_key, admin, mcp_connect) -> None:
    async with mcp_connect(live.url, admin_key) as s:
        sid = facts(await s.call_tool("create_session", {"session_type": "browser"}))["id"]
        try:
            call = {"session_id": sid}
            went = facts(await s.call_tool("browser", {**call, "action": "navigate", "url": PAGE}))
            assert went["title"] == "Form"
            seen = await s.call_tool("browser", {**call, "action": "snapshot"})
            outline = seen.content[0].text
            assert "Query" in outline and "Go" in outline
            refs = {line.split("]")[0].split("=")[1] for line in outline.splitlines() if "[ref=" in line}
            assert refs, outline
            typed = await s.call_tool(
                "browser", {**call, "action": "type", "selector": "#q", "text": "chasm"}
            )
            assert typed.is_error is False, typed.content
            clicked = await s.call_tool("browser", {**call, "action": "click", "selector": "button"})
            assert clicked.is_error is False, clicked.content
            title = facts(
                await s.call_tool("browser", {**call, "action": "evaluate", "expression": "document.title"})
            )
            assert "got chasm" in str(title)
            shot = await s.call_tool("browser", {**call, "action": "screenshot"})
            images = [part for part in shot.content if part.type == "image"]
            assert images and images[0].mime_type == "image/png"
            assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
            wrong = await s.call_tool("terminal", {"session_id": sid, "command": "true"})
            assert wrong.is_error is True  # a browser session is not a sandbox
        finally:
            await admin.delete(f"/v1/sessions/{sid}")

"""The MCP `browser` tool on a real Chromium browser session, through the SDK's client: create,
navigate, snapshot, type and click by ref and by selector, evaluate, and a PNG screenshot as image content."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

pytestmark = pytest.mark.sandbox

PAGE = (
    "data:text/html,<title>Form</title><input id=q aria-label=Query>"
    "<button onclick=\"document.title='got '+document.getElementById('q').value\">Go</button>"
)


def error_code(result: Any) -> str:
    code: str = result.structured_content["error"]["code"]
    return code


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
            text = seen.content[0].text  # the outline as a model reads it, not JSON
            assert 'textbox "Query" [ref=e' in text and 'button "Go" [ref=e' in text, text
            refs = dict(re.findall(r'- (\w+) "[^"]*" \[ref=(e[0-9]+)\]', facts(seen)["outline"]))
            typed = await s.call_tool(
                "browser", {**call, "action": "type", "ref": refs["textbox"], "text": "chasm"}
            )
            assert facts(typed)["ref"] == refs["textbox"]
            clicked = await s.call_tool("browser", {**call, "action": "click", "ref": refs["button"]})
            assert clicked.is_error is False, clicked.content
            again = await s.call_tool("browser", {**call, "action": "click", "selector": "button"})
            assert again.is_error is False, again.content
            stale = await s.call_tool("browser", {**call, "action": "click", "ref": "e999999"})
            assert stale.is_error and error_code(stale) == "ref_not_found"
            title = facts(
                await s.call_tool("browser", {**call, "action": "evaluate", "expression": "document.title"})
            )
            assert "got chasm" in str(title)
            shot = await s.call_tool("browser", {**call, "action": "screenshot"})
            images = [part for part in shot.content if part.type == "image"]
            assert images and images[0].mime_type == "image/png"
            assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
            wrong = await s.call_tool("terminal", {"session_id": sid, "command": "true"})
            assert wrong.is_error and error_code(wrong) == "wrong_session_type"  # not a sandbox
            big = await s.call_tool(
                "browser", {**call, "action": "evaluate", "expression": "'x'.repeat(3e6)"}
            )
            assert big.is_error and error_code(big) == "result_too_large"
            sandbox = facts(await s.call_tool("create_session", {}))["id"]
            reverse = await s.call_tool("browser", {"session_id": sandbox, "action": "snapshot"})
            assert reverse.is_error and error_code(reverse) == "wrong_session_type"
            await s.call_tool("terminate_session", {"session_id": sandbox})
            unknown = {"session_id": "00000000-0000-4000-8000-000000000000", "action": "snapshot"}
            assert error_code(await s.call_tool("browser", unknown)) == "session_not_found"
            assert facts(await s.call_tool("get_session", call))["status"] == "running"  # still usable
        finally:
            await admin.delete(f"/v1/sessions/{sid}")

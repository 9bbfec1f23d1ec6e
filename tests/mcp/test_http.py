"""MCP over streamable HTTP, through the official SDK's client against a live server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mcp.shared.exceptions import MCPError

from auth.idhelpers import make_key
from chasm.mcp.convert import INSUFFICIENT_SCOPE
from chasm.tools.browser import _service_module
from sessions.fixtures import make_workspace

BROWSERS = _service_module() is not None

pytestmark = pytest.mark.sandbox


def data(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content)


async def test_lists_the_tools_with_their_schemas(live, admin_key, mcp_connect) -> None:
    async with mcp_connect(live.url, admin_key) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
    expected = {
        "terminal",
        "web_fetch",
        "list_sessions",
        "get_session",
        "create_session",
        "terminate_session",
        "search_chats",
        "read_chat",
    }
    # The browser tool is listed only where the browser domain is installed.
    assert set(tools) == expected | ({"browser"} if BROWSERS else set())
    schema = tools["terminal"].input_schema
    assert schema["type"] == "object"
    assert {"operation", "session_id", "workspace", "ephemeral", "image", "command", "timeout_ms"} <= set(
        schema["properties"]
    )
    assert tools["search_chats"].annotations.read_only_hint is True


async def test_runs_a_command_in_an_ephemeral_sandbox_that_ends_with_it(live, admin_key, admin, mcp_connect):
    async with mcp_connect(live.url, admin_key) as s:
        result = await s.call_tool("terminal", {"command": "echo hello; exit 3", "timeout_ms": 10000})
    out = data(result)
    assert result.is_error is False
    assert out["exit_code"] == 3 and out["output"] == "hello\n"
    assert out["ephemeral"] is True and out["workspace_id"] is None
    assert out["session_id"] in result.content[0].text
    session = (await admin.get(f"/v1/sessions/{out['session_id']}")).json()
    assert session["status"] == "terminated"


async def test_writes_reads_edits_and_lists_files_in_a_session(live, admin_key, mcp_connect):
    async with mcp_connect(live.url, admin_key) as s:
        created = data(await s.call_tool("create_session", {}))
        sid = created["id"]
        target = {"session_id": sid}
        wrote = data(
            await s.call_tool(
                "terminal",
                {**target, "operation": "write_file", "path": "src/app.py", "content": "x = 1\ny = 1\n"},
            )
        )
        assert wrote == {
            "session_id": sid,
            "workspace_id": None,
            "ephemeral": True,
            "path": "/workspace/src/app.py",
            "size": 12,
        }
        read = data(await s.call_tool("terminal", {**target, "operation": "read_file", "path": "src/app.py"}))
        assert read["content"] == "x = 1\ny = 1\n" and read["session_id"] == sid

        edit = {**target, "operation": "apply_edit", "path": "src/app.py"}
        edited = data(await s.call_tool("terminal", {**edit, "search": "y = 1", "replace": "y = 2"}))
        assert edited["line"] == 2
        ambiguous = await s.call_tool("terminal", {**edit, "search": " = ", "replace": "="})
        assert ambiguous.is_error is True
        assert data(ambiguous)["error"]["code"] == "edit_ambiguous"
        absent = await s.call_tool("terminal", {**edit, "search": "z = 9", "replace": "z = 0"})
        assert absent.is_error is True and data(absent)["error"]["code"] == "edit_not_found"

        ran = data(await s.call_tool("terminal", {**target, "command": "cat src/app.py"}))
        assert ran["output"] == "x = 1\ny = 2\n" and ran["session_id"] == sid

        listed = data(await s.call_tool("terminal", {**target, "operation": "list_files"}))
        assert {"path": "src", "type": "dir", "size": listed["entries"][0]["size"]} in listed["entries"]
        assert {"path": "src/app.py", "type": "file", "size": 12} in listed["entries"]
        outside = await s.call_tool("terminal", {**target, "operation": "list_files", "path": "/etc"})
        assert outside.is_error and data(outside)["error"]["code"] == "path_not_allowed"
        escape = await s.call_tool("terminal", {**target, "operation": "read_file", "path": "../etc/passwd"})
        assert escape.is_error

        ended = data(await s.call_tool("terminate_session", {"session_id": sid}))
        assert ended["status"] == "terminated"
        gone = await s.call_tool("terminal", {**target, "command": "true"})
        assert gone.is_error and data(gone)["error"]["code"] == "session_not_running"


async def test_a_workspace_target_starts_its_session_and_names_it(app: FastAPI, live, admin_key, mcp_connect):
    ws = await make_workspace(app, "mcp-proj")
    async with mcp_connect(live.url, admin_key) as s:
        ran = data(
            await s.call_tool("terminal", {"workspace": "mcp-proj", "command": "echo kept > note.txt"})
        )
        assert ran["workspace_id"] == ws["id"] and ran["ephemeral"] is False
        read = data(
            await s.call_tool(
                "terminal", {"workspace": "mcp-proj", "operation": "read_file", "path": "note.txt"}
            )
        )
        assert read["content"] == "kept\n"
        assert read["session_id"] == ran["session_id"]  # the workspace's live session, reused
        listed = data(await s.call_tool("list_sessions", {"workspace": "mcp-proj"}))
        assert [x["id"] for x in listed["sessions"]] == [ran["session_id"]]
        got = data(await s.call_tool("get_session", {"session_id": ran["session_id"]}))
        assert got["workspace_id"] == ws["id"] and got["status"] == "running"
        await s.call_tool("terminate_session", {"session_id": ran["session_id"], "force": True})


async def test_bad_input_is_a_clear_error(live, admin_key, mcp_connect):
    async with mcp_connect(live.url, admin_key) as s:
        unknown = await s.call_tool(
            "terminal", {"session_id": "00000000-0000-0000-0000-000000000000", "command": "true"}
        )
        assert unknown.is_error and data(unknown)["error"]["code"] == "session_not_found"
        invalid = await s.call_tool("terminal", {"operation": "write_file", "path": "a.txt"})
        assert invalid.is_error and data(invalid)["error"]["code"] == "invalid_arguments"
        assert "content" in data(invalid)["error"]["message"]
        extra = await s.call_tool("terminal", {"command": "true", "nonsense": 1})
        assert extra.is_error and data(extra)["error"]["code"] == "invalid_arguments"
        both = await s.call_tool("terminal", {"command": "true", "session_id": "x", "workspace": "y"})
        assert both.is_error and "one target" in data(both)["error"]["message"]
        ephemeral_file = await s.call_tool(
            "terminal", {"operation": "read_file", "path": "a", "ephemeral": True}
        )
        assert ephemeral_file.is_error
        if not BROWSERS:
            browser = await s.call_tool("create_session", {"session_type": "browser"})
            assert browser.is_error and data(browser)["error"]["code"] == "unsupported_session_type"
        with pytest.raises(MCPError) as raised:
            await s.call_tool("no_such_tool", {})
        assert raised.value.code == -32602 and "no_such_tool" in raised.value.message


async def test_oversized_results_are_refused_or_truncated(live, admin_key, mcp_connect):
    async with mcp_connect(live.url, admin_key) as s:
        sid = data(await s.call_tool("create_session", {}))["id"]
        big = await s.call_tool(
            "terminal", {"session_id": sid, "command": "head -c 600000 /dev/zero | tr '\\0' a > big.txt"}
        )
        assert data(big)["exit_code"] == 0
        read = await s.call_tool("terminal", {"session_id": sid, "operation": "read_file", "path": "big.txt"})
        assert read.is_error and data(read)["error"]["code"] == "file_too_large"
        flood = data(
            await s.call_tool(
                "terminal", {"session_id": sid, "command": "head -c 3000000 /dev/zero | tr '\\0' b"}
            )
        )
        assert flood["output_truncated"] is True
        slow = data(
            await s.call_tool("terminal", {"session_id": sid, "command": "sleep 30", "timeout_ms": 300})
        )
        assert slow["timed_out"] is True
        left = data(await s.call_tool("terminal", {"session_id": sid, "command": "pgrep -c sleep || true"}))
        assert left["output"].strip() == "0"  # nothing left running
        await s.call_tool("terminate_session", {"session_id": sid})


async def test_a_sessions_read_key_cannot_use_the_terminal(live, admin, mcp_connect):
    reader = await make_key(admin, "reader", scopes=["sessions.read"])
    async with mcp_connect(live.url, reader) as s:
        assert "terminal" in {t.name for t in (await s.list_tools()).tools}
        with pytest.raises(MCPError) as raised:
            await s.call_tool("terminal", {"command": "true"})
        assert raised.value.code == INSUFFICIENT_SCOPE
        assert "exec.write" in raised.value.message
        assert raised.value.data == {"code": "insufficient_scope", "status": 403}
        with pytest.raises(MCPError):  # refused before its arguments are even read
            await s.call_tool("terminal", {"nonsense": True})
        with pytest.raises(MCPError):
            await s.call_tool("search_chats", {"query": "x"})
        assert data(await s.call_tool("list_sessions", {}))["total"] == 0
    files_reader = await make_key(admin, "files reader", scopes=["files.read"])
    async with mcp_connect(live.url, files_reader) as s:
        with pytest.raises(MCPError) as raised:
            await s.call_tool(
                "terminal", {"session_id": "x", "operation": "write_file", "path": "a", "content": ""}
            )
        assert "files.write" in raised.value.message
        missing = await s.call_tool("terminal", {"session_id": "x", "operation": "read_file", "path": "a"})
        assert missing.is_error and data(missing)["error"]["code"] == "session_not_found"


async def test_search_and_read_the_chat_library(live, admin, admin_key, mcp_connect):
    messages = [
        {"role": "user", "content": "the uploader times out on large files"},
        {"role": "assistant", "content": "raise the chunk size and retry with exponential backoff"},
        {"role": "user", "content": "that fixed it, thanks"},
    ]
    ws = await admin.post("/api/v1/workspaces", json={"name": "uploader", "path": "/home/me/uploader"})
    assert ws.status_code == 201, ws.text
    ws_body = ws.json()
    ws_id = ws_body["id"] if "id" in ws_body else ws_body["data"]["id"]
    created = await admin.post(
        "/api/v1/sessions",
        json={
            "title": "Fixing the flaky uploader",
            "provider": "claude_code",
            "workspace_id": ws_id,
            "messages": messages,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    chat_id = body["id"] if "id" in body else body["data"]["id"]  # the chat surface may wrap it
    chats_key = await make_key(admin, "chats", scopes=["chats.read"])
    async with mcp_connect(live.url, chats_key) as s:
        found = data(await s.call_tool("search_chats", {"query": "exponential backoff"}))
        assert [c["id"] for c in found["chats"]] == [chat_id]
        assert "[[exponential]] [[backoff]]" in found["chats"][0]["snippet"]
        assert found["chats"][0]["workspace"] == "/home/me/uploader"
        best = found["chats"][0]["best_message_id"]
        hits = data(await s.call_tool("search_chats", {"query": "uploader", "by": "message", "role": "user"}))
        assert [h["chat_id"] for h in hits["messages"]] == [chat_id]
        assert hits["messages"][0]["workspace"] == "/home/me/uploader"
        in_ws = data(await s.call_tool("search_chats", {"query": "backoff", "workspace_id": ws_id}))
        assert len(in_ws["chats"]) == 1
        other = data(await s.call_tool("search_chats", {"query": "backoff", "provider": "codex"}))
        assert other["chats"] == []
        future = data(
            await s.call_tool("search_chats", {"query": "backoff", "since": "2999-01-01T00:00:00Z"})
        )
        assert future["chats"] == []

        window = data(await s.call_tool("read_chat", {"chat_id": chat_id, "offset": -2, "limit": 5}))
        assert window["chat"]["title"] == "Fixing the flaky uploader"
        assert [m["content"] for m in window["messages"]] == [
            "raise the chunk size and retry with exponential backoff",
            "that fixed it, thanks",
        ]
        assert window["offset"] == 1 and window["more_after"] is False and window["more_before"] is True
        around = data(await s.call_tool("read_chat", {"chat_id": chat_id, "message_id": best, "limit": 1}))
        assert [m["id"] for m in around["messages"]] == [best]
        assert around["chat"]["workspace"] == "/home/me/uploader"
        short = data(await s.call_tool("read_chat", {"chat_id": chat_id, "limit": 1, "max_chars": 100}))
        assert short["more_after"] is True and short["messages"][0]["role"] == "user"
        missing = await s.call_tool("read_chat", {"chat_id": "00000000-0000-0000-0000-000000000000"})
        assert missing.is_error
        bad_query = await s.call_tool("search_chats", {"query": "-"})
        assert bad_query.is_error
        with pytest.raises(MCPError):
            await s.call_tool("terminal", {"command": "true"})


async def test_the_endpoint_speaks_json_rpc_and_refuses_bad_envelopes(live, admin_key) -> None:
    headers = {"Authorization": f"Bearer {admin_key}", "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as c:
        r = await c.post("/v1/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 200 and r.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
        assert r.headers["X-RateLimit-Scope"] in ("principal", "account")
        r = await c.post("/v1/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert r.status_code == 200 and "terminal" in {t["name"] for t in r.json()["result"]["tools"]}
        r = await c.post(
            "/v1/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "terminal", "arguments": {"command": "true"}},
            },
        )
        assert r.json()["result"]["structuredContent"]["exit_code"] == 0
        r = await c.post("/v1/mcp", json={"jsonrpc": "2.0", "id": 4, "method": "no/such"})
        assert r.json()["error"]["code"] == -32601
        r = await c.post("/v1/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert r.status_code == 202
        assert (await c.get("/v1/mcp")).status_code == 405  # stateless: no server-to-client stream
        r = await c.post(
            "/v1/mcp", json={"jsonrpc": "2.0", "id": 5, "method": "ping"}, headers={"Accept": "text/html"}
        )
        assert r.status_code == 406
        for bad in (b"{", b'{"id": 1}', b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', b"[]", b"42"):
            r = await c.post("/v1/mcp", content=bad, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (bad, r.status_code, r.text)
        r = await c.post(
            "/v1/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Authorization": ""}
        )
        assert r.status_code == 401
        r = await c.post(
            "/v1/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": "Bearer sk_nope"},
        )
        assert r.status_code == 401


async def test_the_mcp_surface_is_rate_limited(app: FastAPI, live, admin_key) -> None:
    app.state.settings.rate_limit_principal = 2
    headers = {"Authorization": f"Bearer {admin_key}", "Accept": "application/json"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as c:
        first = await c.post("/v1/mcp", json=ping)
        assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "1"
        assert (await c.post("/v1/mcp", json=ping)).status_code == 200
        refused = await c.post("/v1/mcp", json=ping)
        assert refused.status_code == 429
        assert (
            refused.headers["X-RateLimit-Scope"] == "principal" and int(refused.headers["Retry-After"]) >= 1
        )
        assert refused.json()["error"]["code"] == "rate_limited"
        # Other surfaces keep their own budgets.
        assert (await c.get("/v1/sessions")).status_code == 200


async def test_a_failed_file_operation_leaves_no_sandbox_behind(
    app: FastAPI, live, admin, admin_key, mcp_connect
):
    await make_workspace(app, "mcp-leak")
    driver = app.state.sandbox_driver
    async with mcp_connect(live.url, admin_key) as s:
        failed = await s.call_tool(
            "terminal",
            {
                "workspace": "mcp-leak",
                "operation": "apply_edit",
                "path": "absent.txt",
                "search": "a",
                "replace": "b",
            },
        )
        assert failed.is_error and data(failed)["error"]["code"] == "file_not_found"
    assert sorted(driver._sandboxes) == []
    assert (await admin.get("/v1/sessions", params={"status": "running"})).json()["items"] == []


async def test_web_fetch_goes_out_from_a_sandbox_never_the_host(
    app: FastAPI, live, admin, admin_key, mcp_connect
):
    """With no target, web_fetch starts an ephemeral sandbox with direct network, ended with the call:
    the server's own port on the host's loopback is not reachable from there."""
    host_port = int(live.url.rsplit(":", 1)[1].split("/")[0])
    async with mcp_connect(live.url, admin_key) as s:
        host = await s.call_tool("web_fetch", {"url": f"http://10.0.2.2:{host_port}/v1/health"})
        assert host.is_error and data(host)["error"]["code"] == "unreachable", data(host)
        scheme = await s.call_tool("web_fetch", {"url": "ftp://example.org/file"})
        assert scheme.is_error and data(scheme)["error"]["code"] == "invalid_url"
    assert sorted(app.state.sandbox_driver._sandboxes) == []
    assert (await admin.get("/v1/sessions", params={"status": "running"})).json()["items"] == []

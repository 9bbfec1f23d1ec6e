"""`chasm mcp serve`: the same tools over stdio, through the SDK's stdio client, relayed to a live
server; and `chasm mcp config`."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from typer.testing import CliRunner

from auth.idhelpers import make_key
from chasm.cli.main import app as cli
from chasm.mcp.convert import INSUFFICIENT_SCOPE

CHASM = str(Path(sys.executable).parent / "chasm")


def data(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content)


def serve(url: str, key: str) -> StdioServerParameters:
    # The key travels in the environment, as client configurations pass it.
    return StdioServerParameters(
        command=CHASM, args=["mcp", "serve", "--url", url], env={"CHASM_API_KEY": key}
    )


@pytest.mark.sandbox
async def test_stdio_server_relays_the_tools(live, admin, admin_key) -> None:
    created = await admin.post(
        "/api/v1/sessions",
        json={
            "title": "Deploy notes",
            "provider": "codex",
            "messages": [{"role": "user", "content": "blue green deploy"}],
        },
    )
    assert created.status_code == 201, created.text
    async with stdio_client(serve(live.url, admin_key)) as (read, write), ClientSession(read, write) as s:
        init = await s.initialize()
        assert init.server_info.name == "chasm"
        names = {t.name for t in (await s.list_tools()).tools}
        assert {"terminal", "create_session", "search_chats", "read_chat"} <= names

        sid = data(await s.call_tool("create_session", {}))["id"]
        target = {"session_id": sid}
        ran = data(await s.call_tool("terminal", {**target, "command": "echo over stdio"}))
        assert ran["output"] == "over stdio\n" and ran["session_id"] == sid
        await s.call_tool(
            "terminal", {**target, "operation": "write_file", "path": "a.txt", "content": "one\n"}
        )
        edited = await s.call_tool(
            "terminal",
            {**target, "operation": "apply_edit", "path": "a.txt", "search": "one", "replace": "two"},
        )
        assert edited.is_error is False
        read = data(await s.call_tool("terminal", {**target, "operation": "read_file", "path": "a.txt"}))
        assert read["content"] == "two\n"

        found = data(await s.call_tool("search_chats", {"query": "green deploy"}))
        assert [c["title"] for c in found["chats"]] == ["Deploy notes"]

        browser = data(await s.call_tool("create_session", {"session_type": "browser"}))["id"]
        page = "data:text/html,<title>Over stdio</title><button>Press</button>"
        went = data(await s.call_tool("browser", {"session_id": browser, "action": "navigate", "url": page}))
        assert went["title"] == "Over stdio"
        seen = await s.call_tool("browser", {"session_id": browser, "action": "snapshot"})
        assert 'button "Press" [ref=e' in seen.content[0].text
        shot = await s.call_tool("browser", {"session_id": browser, "action": "screenshot"})
        images = [part for part in shot.content if part.type == "image"]
        assert images and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
        await s.call_tool("terminate_session", {"session_id": browser, "force": True})

        bad = await s.call_tool("terminal", {"session_id": "nope", "command": "true"})
        assert bad.is_error and data(bad)["error"]["code"] == "session_not_found"
        with pytest.raises(MCPError) as raised:
            await s.call_tool("no_such_tool", {})
        assert "no_such_tool" in raised.value.message
        await s.call_tool("terminate_session", {"session_id": sid})

    reader = await make_key(admin, "reader", scopes=["sessions.read"])
    async with stdio_client(serve(live.url, reader)) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        with pytest.raises(MCPError) as raised:
            await s.call_tool("terminal", {"command": "true"})
        assert raised.value.code == INSUFFICIENT_SCOPE


def test_config_prints_each_clients_snippet() -> None:
    runner = CliRunner()
    url = "https://chasm.example.com/"
    claude = runner.invoke(cli, ["mcp", "config", "--client", "claude-code", "--url", url])
    assert claude.exit_code == 0, claude.output
    command = "claude mcp add --transport http chasm https://chasm.example.com/v1/mcp"
    assert f'{command} --header "Authorization: Bearer ${{CHASM_API_KEY}}"' in claude.output
    snippet = json.loads(claude.output[claude.output.index("\n{") :])
    assert snippet == {
        "mcpServers": {
            "chasm": {
                "type": "http",
                "url": "https://chasm.example.com/v1/mcp",
                "headers": {"Authorization": "Bearer ${CHASM_API_KEY}"},
            }
        }
    }

    codex = runner.invoke(cli, ["mcp", "config", "--client", "codex", "--url", url])
    assert "[mcp_servers.chasm]" in codex.output
    assert 'url = "https://chasm.example.com/v1/mcp"' in codex.output
    assert 'bearer_token_env_var = "CHASM_API_KEY"' in codex.output
    add = "codex mcp add chasm --url https://chasm.example.com/v1/mcp --bearer-token-env-var CHASM_API_KEY"
    assert add in codex.output
    stdio = runner.invoke(cli, ["mcp", "config", "--client", "codex", "--transport", "stdio", "--url", url])
    assert 'command = "chasm"\nargs = ["mcp", "serve"]' in stdio.output

    cursor = runner.invoke(cli, ["mcp", "config", "--client", "cursor", "--url", url, "--key", "sk_x"])
    assert json.loads(cursor.output[cursor.output.index("\n{") :]) == {
        "mcpServers": {
            "chasm": {"url": "https://chasm.example.com/v1/mcp", "headers": {"Authorization": "Bearer sk_x"}}
        }
    }
    everything = runner.invoke(cli, ["mcp", "config"])
    assert all(name in everything.output for name in ("# Claude Code", "# Codex", "# Cursor"))


def test_serve_without_a_key_says_so() -> None:
    result = CliRunner().invoke(cli, ["mcp", "serve"], env={"CHASM_API_KEY": ""})
    assert result.exit_code != 0


@pytest.mark.sandbox
async def test_serve_says_in_one_line_why_it_cannot_start(live) -> None:
    for url, key, expected in (
        (live.url, "sk_not_a_key", "answered 401: Invalid API key (check the key"),
        ("http://127.0.0.1:1", "sk_x", "cannot reach Chasm at http://127.0.0.1:1"),
    ):
        proc = await asyncio.create_subprocess_exec(
            CHASM, "mcp", "serve", "--url", url, "--key", key,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 1, err
        assert err.decode().startswith("error: ") and expected in err.decode(), err
        assert "Traceback" not in err.decode() and out == b""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from sessions.fixtures import LiveServer, live  # noqa: F401  (fixture)

pytestmark = pytest.mark.sandbox


async def _chasm(live: LiveServer, key: str, *args: str) -> tuple[int, str]:  # noqa: F811
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, list(args), env={"CHASM_URL": live.url, "CHASM_API_KEY": key}
    )
    return result.exit_code, result.output


async def test_workspace_and_snapshot_commands(app: FastAPI, admin_key: str, live: LiveServer) -> None:  # noqa: F811
    code, out = await _chasm(live, admin_key, "workspace", "create", "cli-ws", "--json")
    assert code == 0, out
    ws = json.loads(out)
    assert ws["name"] == "cli-ws"
    code, out = await _chasm(live, admin_key, "workspace", "list")
    assert code == 0 and "cli-ws" in out
    code, out = await _chasm(live, admin_key, "workspace", "rename", "cli-ws", "renamed", "--json")
    assert code == 0 and json.loads(out)["name"] == "renamed"
    code, out = await _chasm(live, admin_key, "workspace", "template", "renamed", "--json")
    assert code == 0 and json.loads(out)["template"] is True
    code, out = await _chasm(live, admin_key, "workspace", "snapshot", "create", "renamed", "s1", "--json")
    assert code == 0, out
    code, out = await _chasm(live, admin_key, "workspace", "snapshot", "list", "renamed")
    assert code == 0 and "s1" in out
    code, out = await _chasm(live, admin_key, "workspace", "snapshot", "restore", "renamed", "s1")
    assert code == 0, out
    code, out = await _chasm(live, admin_key, "workspace", "show", "nope")
    assert code == 1 and "not found" in out
    code, out = await _chasm(live, admin_key, "workspace", "delete", "renamed")
    assert code == 0, out
    code, out = await _chasm(live, admin_key, "workspace", "list", "--json")
    assert code == 0 and json.loads(out) == {"items": [], "total": 0, "limit": 50, "offset": 0}


async def test_cli_errors_name_flags(app: FastAPI, admin_key: str, live: LiveServer) -> None:  # noqa: F811
    code, out = await _chasm(live, admin_key, "workspace", "create", "busy", "--json")
    assert code == 0, out
    code, out = await _chasm(live, admin_key, "sandbox", "create", "--workspace", "busy")
    assert code == 0, out
    assert "network: off" in out
    code, out = await _chasm(live, admin_key, "workspace", "snapshot", "create", "busy", "s1")
    assert code == 1
    assert "--force" in out and "force=true" not in out

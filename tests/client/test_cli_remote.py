from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from sessions.fixtures import LiveServer

pytestmark = pytest.mark.sandbox


async def test_cli_sandbox_commands(admin: httpx.AsyncClient, live: LiveServer, tmp_path: Path) -> None:
    key = admin.headers["Authorization"].split()[1]
    env = {"CHASM_URL": live.url, "CHASM_API_KEY": key}
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, ["sandbox", *args], env=env)

    created = await asyncio.to_thread(invoke, "create")
    assert created.exit_code == 0, created.output
    sid = created.stdout.strip().splitlines()[0]
    ran = await asyncio.to_thread(invoke, "exec", "--shell", sid, "echo", "from-cli;", "exit", "3")
    assert ran.exit_code == 3 and "from-cli" in ran.stdout
    argv = await asyncio.to_thread(invoke, "exec", sid, "--", "printf", "[%s]", "two words", "$HOME;", "-n")
    assert argv.exit_code == 0 and argv.stdout == "[two words][$HOME;][-n]", argv.output
    local = tmp_path / "up.txt"
    local.write_text("uploaded")
    assert (await asyncio.to_thread(invoke, "upload", sid, str(local))).exit_code == 0
    back = tmp_path / "back.txt"
    got = await asyncio.to_thread(invoke, "download", sid, "up.txt", str(back))
    assert got.exit_code == 0 and back.read_text() == "uploaded"
    listed = await asyncio.to_thread(invoke, "list", "--status", "running")
    assert sid in listed.stdout
    fresh = await asyncio.to_thread(invoke, "exec", "echo", "new-box", "--new")
    assert fresh.exit_code == 0 and "new-box" in fresh.stdout
    ended = await asyncio.to_thread(invoke, "terminate", sid)
    assert ended.exit_code == 0 and "terminated" in ended.stdout
    missing = await asyncio.to_thread(invoke, "exec", sid, "true")
    assert missing.exit_code == 1 and "not running" in missing.output

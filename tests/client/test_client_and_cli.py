from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from chasm.client import ChasmAPIError, ChasmClient
from sessions.fixtures import LiveServer

pytestmark = pytest.mark.sandbox


async def test_client_round_trip(admin: httpx.AsyncClient, live: LiveServer) -> None:
    key = admin.headers["Authorization"].split()[1]

    def scenario() -> dict[str, Any]:
        with ChasmClient(live.url, key) as client:
            session = client.create_session()
            sid = session["id"]
            assert client.exec(sid, "echo hi")["output"] == "hi\n"
            assert client.run("echo auto")["output"] == "auto\n"
            client.upload(sid, "note.txt", b"payload")
            assert client.download(sid, "note.txt") == b"payload"
            started = client.exec(sid, "for i in 1 2 3; do echo n$i; done; echo e >&2", background=True)
            events = list(client.stream_command(sid, started["command_id"]))
            out = "".join(e.text for e in events if e.event == "stdout")
            assert out == "n1\nn2\nn3\n" and events[-1].event == "exit"
            assert client.get_command(sid, started["command_id"])["status"] == "exited"
            assert [s["id"] for s in client.list_sessions(status="running")["items"]].count(sid) == 1
            with pytest.raises(ChasmAPIError) as missing:
                client.get_session("00000000-0000-0000-0000-000000000000")
            assert missing.value.status_code == 404 and missing.value.code == "session_not_found"
            ended = client.terminate_session(sid)
            return ended

    ended = await asyncio.to_thread(scenario)
    assert ended["status"] == "terminated"


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
    short = await asyncio.to_thread(invoke, "exec", sid[:8], "--", "echo", "by-prefix")
    assert short.exit_code == 0 and short.stdout == "by-prefix\n", short.output
    other = "".join("0" if c != "0" else "1" for c in sid[:12])  # starts no id of the account
    unknown = await asyncio.to_thread(invoke, "exec", other, "--", "true")
    assert unknown.exit_code == 1 and f"no sandbox session id starts with '{other}'" in unknown.output
    ended = await asyncio.to_thread(invoke, "terminate", sid[:8])
    assert ended.exit_code == 0 and "terminated" in ended.stdout
    missing = await asyncio.to_thread(invoke, "exec", sid, "true")
    assert missing.exit_code == 1 and "not running" in missing.output

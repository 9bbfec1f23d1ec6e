from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from client.conftest import ServerThread

pytestmark = pytest.mark.sandbox


def test_cli_sandbox_commands(live_server: ServerThread, tmp_path: Path) -> None:
    env = {"CHASM_URL": live_server.url, "CHASM_API_KEY": live_server.key}
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, ["sandbox", *args], env=env)

    created = invoke("create")
    assert created.exit_code == 0, created.output
    sid = created.stdout.strip().splitlines()[0]
    ran = invoke("exec", "--shell", sid, "echo", "from-cli;", "exit", "3")
    assert ran.exit_code == 3 and "from-cli" in ran.stdout
    argv = invoke("exec", sid, "--", "printf", "[%s]", "two words", "$HOME;", "-n")
    assert argv.exit_code == 0 and argv.stdout == "[two words][$HOME;][-n]", argv.output
    local = tmp_path / "up.txt"
    local.write_text("uploaded")
    assert (invoke("upload", sid, str(local))).exit_code == 0
    back = tmp_path / "back.txt"
    got = invoke("download", sid, "up.txt", str(back))
    assert got.exit_code == 0 and back.read_text() == "uploaded"
    listed = invoke("list", "--status", "running")
    assert sid in listed.stdout
    fresh = invoke("exec", "echo", "new-box", "--new")
    assert fresh.exit_code == 0 and "new-box" in fresh.stdout
    first = invoke("list", "--limit", "1")  # two sessions now: one row, and where the rest are
    assert first.exit_code == 0 and len(first.stdout.strip().splitlines()) == 1, first.output
    assert "rows 1-1 of " in first.stderr and "--offset 1 shows the next ones" in first.stderr
    short = invoke("exec", sid[:8], "--", "echo", "by-prefix")
    assert short.exit_code == 0 and short.stdout == "by-prefix\n", short.output
    other = "".join("0" if c != "0" else "1" for c in sid[:12])  # starts no id of the account
    unknown = invoke("exec", other, "--", "true")
    assert unknown.exit_code == 1 and f"no sandbox session id starts with '{other}'" in unknown.output
    ended = invoke("terminate", sid[:8])
    assert ended.exit_code == 0 and "terminated" in ended.stdout
    missing = invoke("exec", sid, "true")
    assert missing.exit_code == 1 and "not running" in missing.output

"""`chasm chats show ID --resume-command` prints how to reopen a chat in the tool that recorded it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings
from shared_fixtures import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"
CLAUDE_SESSION = "7f2abd2d-7cfc-4447-9ddd-3ca8d14e02e9"  # agtrace_claude_session.jsonl's sessionId
CODEX_SESSION = "019b04ae-b1c6-7c72-a134-a4c2de66058c"


@pytest.fixture
def library(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Claude Code, Codex and a ChatGPT export harvested by the CLI: {provider: chat id}."""
    home = tmp_path / "home"
    claude = home / ".claude" / "projects" / "-Users-test-user-agent-sample" / f"{CLAUDE_SESSION}.jsonl"
    codex = (
        home
        / ".codex"
        / "sessions"
        / "2025"
        / "12"
        / "09"
        / f"rollout-2025-12-09T19-55-16-{CODEX_SESSION}.jsonl"
    )
    for src, dest in (
        (TRANSCRIPTS / "claude-code" / "agtrace_claude_session.jsonl", claude),
        (TRANSCRIPTS / "codex" / "agtrace_codex_session.jsonl", codex),
        (
            TRANSCRIPTS / "chatgpt-export" / "vsla_single-conversation_v3-review.json",
            tmp_path / "gpt" / "c.json",
        ),
    ):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()
    try:
        args = ["harvest", "-p", "claude-code", "-p", "codex", "-p", "chatgpt-export"]
        harvested = CliRunner().invoke(cli, [*args, "--root", f"chatgpt-export={tmp_path / 'gpt'}"])
        assert harvested.exit_code == 0, harvested.output
        listed = CliRunner().invoke(cli, ["chats", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        yield {s["provider"]: s["id"] for s in json.loads(listed.stdout)["sessions"]}
    finally:
        get_settings.cache_clear()


def test_resume_commands_per_tool(library: dict[str, str]) -> None:
    claude = CliRunner().invoke(cli, ["chats", "show", library["claude-code"][:8], "--resume-command"])
    assert claude.exit_code == 0, claude.output
    assert claude.stdout.strip() == f"cd /Users/test_user/agent-sample && claude --resume {CLAUDE_SESSION}"

    codex = CliRunner().invoke(cli, ["chats", "show", library["codex"], "--resume-command", "--json"])
    assert codex.exit_code == 0, codex.output
    data = json.loads(codex.stdout)
    assert data["command"] == f"cd /Users/test_user/agent-sample && codex resume {CODEX_SESSION}"
    assert data["cwd"] == "/Users/test_user/agent-sample"

    export = CliRunner().invoke(cli, ["chats", "show", library["chatgpt-export"], "--resume-command"])
    assert export.exit_code == 1
    assert export.stdout == ""
    assert "cannot be resumed" in export.stderr and "chatgpt.com" in export.stderr

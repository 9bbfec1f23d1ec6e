"""The local chat commands work first thing on a fresh install: no server start needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings
from shared_fixtures import FIXTURES


def test_harvest_then_list_on_a_fresh_install(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    shutil.copy(FIXTURES / "transcripts" / "claude-code" / "agentsessions_stage0_claude_small.jsonl", project)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()
    try:
        harvested = CliRunner().invoke(cli, ["harvest", "--provider", "claude-code"])
        assert harvested.exit_code == 0, harvested.output
        assert "Created the local owner" in harvested.stderr and "sk_" in harvested.stderr
        assert "Library: " in harvested.stderr
        listed = CliRunner().invoke(cli, ["chats", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.stdout)["total"] == 1
        again = CliRunner().invoke(cli, ["chats", "list", "--json"])
        assert "Created the local owner" not in again.stderr  # once only
    finally:
        get_settings.cache_clear()

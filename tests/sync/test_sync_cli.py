"""`chasm sync` on the local library: progress on stderr, the counts, a clear error."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings
from chasm.kit.db import create_engine, make_sessionmaker, transaction
from chasm.models import ChatSettings
from shared_fixtures import FIXTURES


async def _enable_sync(settings: Settings) -> None:
    from chasm.auth import repository as auth_repo

    engine = create_engine(settings.effective_database_url, settings.database_schema)
    try:
        async with transaction(make_sessionmaker(engine)) as db:
            owner = await auth_repo.first_owner(db)
            assert owner is not None
            account = await auth_repo.personal_account(db, owner.id)
            assert account is not None
            db.add(ChatSettings(account_id=account.id, data={"sync_enabled": True, "sync_provider": "local"}))
    finally:
        await engine.dispose()


def test_chasm_sync_sends_the_library(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    shutil.copy(FIXTURES / "transcripts" / "claude-code" / "agentsessions_stage0_claude_small.jsonl", project)
    remote = tmp_path / "remote"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("CHASM_SYNC_LOCATIONS", json.dumps({"local": str(remote)}))
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(cli, ["harvest", "--provider", "claude-code"]).exit_code == 0
        refused = CliRunner().invoke(cli, ["sync"])
        assert refused.exit_code == 1 and "sync is off" in refused.stderr

        asyncio.run(_enable_sync(settings))
        synced = CliRunner().invoke(cli, ["sync"])
        assert synced.exit_code == 0, synced.output
        assert "Uploaded 1, downloaded 0, conflicts 0" in synced.stdout
        as_json = CliRunner().invoke(cli, ["sync", "--json"])
        assert json.loads(as_json.stdout)["uploaded"] == 0
        assert len(list((remote / "chats").iterdir())) == 1
    finally:
        get_settings.cache_clear()

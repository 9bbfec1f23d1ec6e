"""`chasm admin grant|revoke|list` on the database, and `chasm harvest --remote` pushing a laptop's
transcripts to a shared server through POST /api/v1/harvest/upload."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from access_helpers import CLAUDE_FILE, CODEX_FILE
from fastapi import FastAPI
from typer.testing import CliRunner

from auth.idhelpers import register
from chasm.app import create_app
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings


def _use(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()


async def _register(settings: Settings, email: str) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            await register(client, email)


def test_admin_grant_revoke_and_list(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(settings, monkeypatch)
    asyncio.run(_register(settings, "ops@example.com"))
    runner = CliRunner()
    try:
        listed = runner.invoke(cli, ["admin", "list"])
        assert listed.exit_code == 0, listed.output
        assert listed.output.split() == ["owner@localhost"]  # the local owner of the first start
        granted = runner.invoke(cli, ["admin", "grant", "ops@example.com"])
        assert granted.exit_code == 0, granted.output
        assert runner.invoke(cli, ["admin", "list"]).output.split() == ["ops@example.com", "owner@localhost"]
        assert runner.invoke(cli, ["admin", "revoke", "owner@localhost"]).exit_code == 0
        assert runner.invoke(cli, ["admin", "list"]).output.split() == ["ops@example.com"]
        assert runner.invoke(cli, ["admin", "grant", "nobody@example.com"]).exit_code != 0
    finally:
        get_settings.cache_clear()


async def test_harvest_remote_uploads_this_machines_transcripts(
    app: FastAPI,
    live: Any,
    second: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    laptop = tmp_path / "laptop"
    project = laptop / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    shutil.copy(CLAUDE_FILE, project / "1a2b3c4d-laptop.jsonl")
    day = laptop / ".codex" / "sessions" / "2026" / "01" / "02"
    day.mkdir(parents=True)
    shutil.copy(CODEX_FILE, day / "rollout-2026-01-02-laptop.jsonl")
    monkeypatch.setenv("CHASM_HARVEST_HOME", str(laptop))
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "laptop-data"))
    get_settings.cache_clear()
    created = await second.post("/v1/keys", json={"name": "laptop", "scopes": ["harvest.run"]})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    runner = CliRunner()

    def push(*extra: str) -> dict[str, Any]:
        args = ["harvest", "--remote", live.url, "--key", key, "-p", "claude-code", "-p", "codex", "--json"]
        result = runner.invoke(cli, [*args, *extra])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))

    try:
        first = await asyncio.to_thread(push)
        assert first["providers"]["claude-code"]["chats_created"] >= 1
        assert first["providers"]["codex"]["chats_created"] >= 1
        listed = (await second.get("/api/sessions")).json()["data"]
        assert {c["source_path"] for c in listed["sessions"]} >= {
            "claude-code/0/-home-me-proj/1a2b3c4d-laptop.jsonl",
            "codex/0/2026/01/02/rollout-2026-01-02-laptop.jsonl",
        }
        # Nothing changed here: nothing is sent.
        assert (await asyncio.to_thread(push))["providers"] == {}
        # A file that changed is sent again, and its chat updated, not duplicated.
        changed = project / "1a2b3c4d-laptop.jsonl"
        os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
        again = await asyncio.to_thread(push)
        assert list(again["providers"]) == ["claude-code"]
        assert again["providers"]["claude-code"]["chats_created"] == 0
        assert again["providers"]["claude-code"]["chats_updated"] >= 1
        # --resend sends everything; the server changes nothing.
        resent = await asyncio.to_thread(push, "--resend")
        assert sum(p["chats_created"] for p in resent["providers"].values()) == 0
        assert set(resent["providers"]) == {"claude-code", "codex"}
        assert (await second.get("/api/sessions")).json()["data"]["total"] == listed["total"]
    finally:
        get_settings.cache_clear()

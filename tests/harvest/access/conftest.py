"""A server whose harvest home holds one real Claude Code transcript, a second (non-admin) user, and
helpers to upload transcripts."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from access_helpers import CLAUDE_FILE
from fastapi import FastAPI

from auth.idhelpers import client_for, register
from chasm.config import Settings
from sessions.fixtures import live  # noqa: F401  (a real uvicorn for the CLI's --remote)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The server's HOME: the owner's own Claude Code history."""
    project = tmp_path / "home" / ".claude" / "projects" / "-home-owner-secret"
    project.mkdir(parents=True)
    shutil.copy(CLAUDE_FILE, project / "0f0e0d0c-owner.jsonl")
    return tmp_path / "home"


@pytest.fixture
def settings(tmp_path: Path, db_settings: dict[str, object], home: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        embedded_workers=1,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        harvest_home=home,
        harvest_workers=1,
        **db_settings,  # type: ignore[arg-type]
    )


@pytest.fixture
async def second(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A self-registered user of the same server (full access of their own account, not an
    instance administrator)."""
    body = await register(client, f"second-{uuid.uuid4().hex[:6]}@example.com")
    async with client_for(app, body["access_token"]) as c:
        yield c

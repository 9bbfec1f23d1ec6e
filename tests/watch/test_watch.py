"""Watch mode: a transcript growing on disk reaches the library (and /ws) message by message,
within a second, parsing only the appended bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from chasm.auth import repository as auth_repo
from chasm.models import Chat, ChatMessage, HarvestFile
from chasm.watch.watcher import Watcher
from shared_fixtures import TRANSCRIPTS

FIXTURE = TRANSCRIPTS / (
    "claude-code/vsla_projects/-home-kenth56-vsla/e80aa543-6eff-4cb5-91e0-6d4e8e7951e9.jsonl"
)


async def owner_account(app: FastAPI) -> uuid.UUID:
    async with app.state.sessionmaker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
        return account.id


async def message_count(app: FastAPI) -> int:
    async with app.state.sessionmaker() as db:
        total = await db.scalar(
            select(func.count()).select_from(ChatMessage).join(Chat).where(Chat.provider == "claude-code")
        )
        return int(total or 0)


def message_lines() -> list[str]:
    """The fixture's lines that are user or assistant messages (each one stored message)."""
    lines = FIXTURE.read_text().splitlines(keepends=True)
    return [line for line in lines if json.loads(line).get("type") in ("user", "assistant")]


@pytest.fixture
async def watching(app: FastAPI, tmp_path: Path) -> AsyncIterator[tuple[Watcher, Path]]:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    settings = app.state.settings.model_copy(update={"harvest_home": home})
    watcher = Watcher(
        app.state.sessionmaker,
        settings,
        await owner_account(app),
        bus=app.state.events,
        providers=["claude-code"],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    await asyncio.wait_for(watcher.ready.wait(), 10)
    yield watcher, project
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


async def wait_for_count(app: FastAPI, expected: int, timeout: float = 5) -> float:
    started = time.monotonic()
    while await message_count(app) < expected:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{await message_count(app)} messages, {expected} expected")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_appended_lines_are_stored_message_by_message_within_a_second(
    app: FastAPI, watching: tuple[Watcher, Path]
) -> None:
    _, project = watching
    lines = message_lines()[:12]
    assert len(lines) >= 6
    transcript = project / f"{uuid.uuid4()}.jsonl"
    updates = app.state.events.subscribe("library.*")
    latencies = []
    stored = 0
    with transcript.open("a") as out:
        for line in lines:
            before = await message_count(app)
            out.write(line)
            out.flush()
            latencies.append(await wait_for_count(app, before + 1))
            stored = await message_count(app)
            assert stored == before + 1  # the new message only: nothing stored twice
    assert statistics.median(latencies) < 1.0, latencies
    # incremental: the unit resumes from where the last harvest stopped
    async with app.state.sessionmaker() as db:
        unit = (await db.scalars(select(HarvestFile).where(HarvestFile.provider == "claude-code"))).one()
        assert unit.resume_offset == transcript.stat().st_size
    topics_seen = []
    while True:
        try:
            topics_seen.append(await updates.get(timeout=0.5))
        except TimeoutError:
            break
    updates.close()
    assert topics_seen[0].topic == "library.chat.created" and topics_seen[0].payload["source"] == "watch"
    assert any(e.topic == "library.messages.appended" for e in topics_seen)


async def test_a_new_project_folder_is_followed(app: FastAPI, watching: tuple[Watcher, Path]) -> None:
    _, project = watching
    fresh = project.parent / "-home-me-other"
    fresh.mkdir()
    await asyncio.sleep(0.2)
    (fresh / f"{uuid.uuid4()}.jsonl").write_text("".join(message_lines()[:2]))
    await wait_for_count(app, 2)


async def test_auto_harvest_follows_the_servers_folders_for_an_instance_admin(
    app: FastAPI, client: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    app.state.settings.harvest_home = home
    r = await client.put("/api/settings", json={"auto_harvest": True, "harvest_interval_minutes": 5})
    assert r.status_code == 200, r.text
    app.state.watch_poke.set()
    for _ in range(500):
        running = app.state.watchers.get(await owner_account(app))
        if running is not None and running.watcher.ready.is_set():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("no watcher started")
    assert running.interval_minutes == 5
    (project / f"{uuid.uuid4()}.jsonl").write_text("".join(message_lines()[:2]))
    await wait_for_count(app, 2)
    r = await client.put("/api/settings", json={"auto_harvest": False})
    app.state.watch_poke.set()
    for _ in range(500):
        if not app.state.watchers:
            break
        await asyncio.sleep(0.01)
    assert app.state.watchers == {}

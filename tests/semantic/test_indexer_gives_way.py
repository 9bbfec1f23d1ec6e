"""The background indexer gives way to a recording burst: nothing is embedded while the recording
writer is at work, everything once it pauses; writes that never pause but are light are embedded
all the same (bounded staleness)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from semantic_helpers import wait_indexed

from chasm.semantic import lifecycle
from chasm.semantic import repository as repo

TEXT = "The violinist tuned her instrument before the concert."


async def _record(client: httpx.AsyncClient, session: str) -> None:
    for event in (
        {"session_id": session, "event_type": "session_start"},
        {"session_id": session, "event_type": "message", "data": {"role": "user", "content": TEXT}},
    ):
        reply = await client.post("/api/recording/events", json=event)
        assert reply.status_code == 200, reply.text


async def _pending(app: FastAPI) -> list[object]:
    async with app.state.sessionmaker() as db:
        return list(await repo.accounts_with_pending(db, app.state.semantic.embedder.name))


async def _found(client: httpx.AsyncClient) -> str:
    query = {"q": "musician preparing a string instrument"}
    reply = await client.get("/api/v1/search/semantic", params=query)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["results"][0]["session"]["title"])


async def test_a_recording_burst_is_embedded_once_it_pauses(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "QUIET_S", 0.05)
    monkeypatch.setattr(lifecycle, "MAX_DEFER_S", 0.05)  # only a light stream may go on
    with app.state.write_activity.busy():  # the recording writer in the middle of a burst
        await _record(client, "burst-1")
        await asyncio.sleep(1.0)  # twenty pauses' worth: none of them counts, the writer is busy
        assert await _pending(app)  # stored and searchable by words, not embedded yet
    await wait_indexed(app)

    assert TEXT[:20] in await _found(client)


async def test_writes_that_never_pause_but_are_light_are_embedded_all_the_same(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "QUIET_S", 3600.0)  # the writes never pause for so long
    monkeypatch.setattr(lifecycle, "MAX_DEFER_S", 0.05)
    await _record(client, "light-1")
    await wait_indexed(app)

    assert TEXT[:20] in await _found(client)

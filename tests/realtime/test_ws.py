"""`/ws` (spec 001): library updates for the caller's account, filtered by chat or workspace,
across server processes through the Redis bus."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from chasm.app import create_app
from chasm.config import Settings
from chasm.kit.events import RedisEventBus
from chasm.realtime import topics
from sessions.fixtures import LiveServer
from shared_fixtures import TRANSCRIPTS

FIXTURES = TRANSCRIPTS / "claude-code"


async def next_event(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] != "subscribed":
            return message  # type: ignore[no-any-return]


async def nothing_more(ws: ClientConnection, wait: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


def event(session: str, event_type: str, **data: Any) -> dict[str, Any]:
    return {"session_id": session, "event_type": event_type, "data": data}


async def test_recorded_messages_reach_subscribers_filtered_by_chat(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url) as api, connect(f"{live.ws_url}/ws") as everything:
        assert json.loads(await everything.recv())["type"] == "subscribed"
        r = await api.post("/api/recording/events", json={"events": [event("a", "session_start")]})
        chat_a = (await api.get("/api/recording/sessions/a")).json()["data"]["chat_id"]
        created = await next_event(everything)
        assert created["topic"] == "library.chat.created"
        assert created["data"]["chat_id"] == chat_a and created["data"]["source"] == "recording"
        assert "account_id" not in created["data"]
        await api.post("/api/recording/events", json={"events": [event("b", "session_start")]})
        await next_event(everything)

        async with connect(f"{live.ws_url}/ws?chat_id={chat_a}") as only_a:
            assert json.loads(await only_a.recv())["chat_ids"] == [chat_a]
            r = await api.post(
                "/api/recording/events",
                json={
                    "events": [
                        event("b", "message", role="user", content="b1"),
                        event("a", "message", role="user", content="a1"),
                    ]
                },
            )
            assert r.status_code == 200, r.text
            got = await next_event(only_a)
            assert got["topic"] == "library.messages.appended"
            assert got["data"]["chat_id"] == chat_a and got["data"]["count"] == 1
            await nothing_more(only_a)
            seen = {(await next_event(everything))["data"]["chat_id"] for _ in range(2)}
            assert chat_a in seen and len(seen) == 2
            # filters change with a subscribe message
            await only_a.send(json.dumps({"type": "subscribe", "topics": ["job.*"]}))
            assert json.loads(await only_a.recv())["topics"] == ["job.*"]
            await api.post("/api/recording/events", json=event("a", "message", role="user", content="a2"))
            await nothing_more(only_a)
            await only_a.send("not json")
            assert json.loads(await only_a.recv())["code"] == "INVALID_JSON"


async def test_only_the_callers_account_is_sent(live: LiveServer, app: FastAPI) -> None:
    async with connect(f"{live.ws_url}/ws") as ws:
        await ws.recv()
        bus = app.state.events
        other = topics.library_event(uuid.uuid4(), chat_id=uuid.uuid4(), source="recording")
        await bus.publish(topics.CHAT_CREATED, other)
        await nothing_more(ws)


async def test_a_key_without_chats_read_is_refused(live: LiveServer, admin: httpx.AsyncClient) -> None:
    r = await admin.post("/v1/keys", json={"name": "platform", "scopes": ["sessions.read"]})
    body = r.json()
    key = body.get("key") or body.get("data", {}).get("key")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live.ws_url}/ws", additional_headers={"Authorization": f"Bearer {key}"}):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live.ws_url}/ws?token=sk_not_a_key"):
            pass
    assert refused.value.response.status_code == 401


async def test_another_sites_page_cannot_listen_as_the_local_owner(live: LiveServer) -> None:
    """Cross-site WebSocket hijacking: a page of another site opens /ws through this machine's
    browser (its Origin is the other site's); only the server's own pages are the local owner."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live.ws_url}/ws", origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 401
    async with connect(f"{live.ws_url}/ws", origin=live.url) as ws:  # type: ignore[arg-type]
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"


async def test_harvest_upload_announces_created_chats(live: LiveServer) -> None:
    transcript = FIXTURES / "gitai_example-claude-code.jsonl"
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as api, connect(f"{live.ws_url}/ws") as ws:
        await ws.recv()
        r = await api.post(
            "/api/harvest/upload",
            files={"files": (transcript.name, transcript.read_bytes())},
            data={"source": "claude-code"},
        )
        assert r.status_code == 200, r.text
        got = await next_event(ws)
        assert got["topic"] == "library.chat.created" and got["data"]["source"] == "upload"
        assert got["data"]["provider"] == "claude-code"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), 0.1):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


async def test_updates_of_another_process_arrive_through_redis(settings: Settings, redis_url: str) -> None:
    application = create_app(settings.model_copy(update={"redis_url": redis_url}))
    async with application.router.lifespan_context(application):
        assert isinstance(application.state.events, RedisEventBus)
        server = LiveServer(application)
        task = asyncio.create_task(server.server.serve())
        while not server.server.started:
            await asyncio.sleep(0.01)
        other_process = RedisEventBus(redis_url)  # as a second server (or worker) publishes
        await other_process.start()
        try:
            async with httpx.AsyncClient(base_url=server.url) as api, connect(f"{server.ws_url}/ws") as ws:
                await ws.recv()
                await api.post("/api/recording/events", json=event("r", "session_start"))
                mine = await next_event(ws)
                account = (await api.get("/api/recording/sessions/r")).json()["data"]
                assert mine["data"]["chat_id"] == account["chat_id"]
                from chasm.auth import repository as auth_repo

                async with application.state.sessionmaker() as db:
                    owner = await auth_repo.first_owner(db)
                    assert owner is not None
                    personal = await auth_repo.personal_account(db, owner.id)
                    assert personal is not None
                chat_id = uuid.uuid4()
                payload = topics.library_event(personal.id, chat_id=chat_id, source="watch", count=2)
                await other_process.publish(topics.MESSAGES_APPENDED, payload)
                got = await next_event(ws)
                assert got["topic"] == "library.messages.appended" and got["data"]["chat_id"] == str(chat_id)
        finally:
            await other_process.close()
            server.server.should_exit = True
            await asyncio.wait_for(task, 10)


async def test_chat_api_writes_are_announced(live: LiveServer) -> None:
    async with (
        httpx.AsyncClient(base_url=live.url) as api,
        connect(f"{live.ws_url}/ws?topics=library.*") as ws,
    ):
        await ws.recv()
        made = (
            await api.post(
                "/api/sessions", json={"title": "t", "messages": [{"role": "user", "content": "x"}]}
            )
        ).json()
        chat_id = made["data"]["id"]
        got = await next_event(ws)
        assert (got["topic"], got["data"]["chat_id"], got["data"]["source"]) == (
            "library.chat.created",
            chat_id,
            "api",
        )
        await nothing_more(ws)
        r = await api.post(f"/api/sessions/{chat_id}/messages", json={"role": "assistant", "content": "y"})
        assert r.status_code == 201, r.text
        topics_seen = {(await next_event(ws))["topic"] for _ in range(2)}
        assert topics_seen == {"library.chat.updated", "library.messages.appended"}
        await api.delete(f"/api/sessions/{chat_id}")
        assert (await next_event(ws))["topic"] == "library.chat.deleted"

"""`/ws` carries the platform's session.* and workspace.* events to their own account only, and only
to a caller holding the scope that reads them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from sessions.fixtures import LiveServer, create_session, other_account_client

pytestmark = pytest.mark.sandbox
PLATFORM = "topics=session.*,workspace.*"


async def next_event(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] != "subscribed":
            return message  # type: ignore[no-any-return]


async def nothing_more(ws: ClientConnection, wait: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


async def test_workspace_and_session_lifecycle_reach_the_accounts_dashboard(
    live: LiveServer, app: FastAPI, admin: httpx.AsyncClient
) -> None:
    other = await other_account_client(app, admin)
    other_key = other.headers["Authorization"].split(" ", 1)[1]
    async with (
        connect(f"{live.ws_url}/ws?{PLATFORM}") as mine,
        connect(f"{live.ws_url}/ws?{PLATFORM}&token={other_key}") as theirs,
    ):
        await mine.recv()
        await theirs.recv()

        made = await admin.post("/v1/workspaces", json={"name": "live-ws"})
        assert made.status_code == 201, made.text
        ws_id = made.json()["id"]
        created = await next_event(mine)
        assert created["topic"] == "workspace.created"
        assert created["data"]["workspace_id"] == ws_id and created["data"]["name"] == "live-ws"
        assert "account_id" not in created["data"]

        renamed = await admin.put(f"/v1/workspaces/{ws_id}/name", json={"name": "live-ws-2"})
        assert renamed.status_code == 200, renamed.text
        updated = await next_event(mine)
        assert updated["topic"] == "workspace.updated" and updated["data"]["name"] == "live-ws-2"

        snap = await admin.post(f"/v1/workspaces/{ws_id}/snapshots", json={"name": "s1"})
        assert snap.status_code in (200, 201), snap.text
        taken = await next_event(mine)
        assert taken["topic"] == "workspace.snapshot.created" and taken["data"]["snapshot"] == "s1"
        restored = await admin.post(f"/v1/workspaces/{ws_id}/snapshots/s1/restore")
        assert restored.status_code == 200, restored.text
        assert (await next_event(mine))["topic"] == "workspace.snapshot.restored"

        sandbox = await create_session(admin)
        started = await next_event(mine)
        assert started["topic"] == "session.created"
        assert started["data"]["session_id"] == sandbox["id"] and started["data"]["status"] == "running"
        ended = await admin.delete(f"/v1/sessions/{sandbox['id']}")
        assert ended.status_code == 200, ended.text
        terminated = await next_event(mine)
        assert terminated["topic"] == "session.terminated"
        assert terminated["data"]["session_id"] == sandbox["id"]
        assert terminated["data"]["ended_reason"] == "requested"

        deleted = await admin.delete(f"/v1/workspaces/{ws_id}")
        assert deleted.status_code in (200, 204), deleted.text
        assert (await next_event(mine))["topic"] == "workspace.deleted"

        # the other account saw none of it, and sees its own
        await nothing_more(theirs)
        own = await other.post("/v1/workspaces", json={"name": "theirs"})
        assert own.status_code == 201, own.text
        seen = await next_event(theirs)
        assert seen["topic"] == "workspace.created" and seen["data"]["name"] == "theirs"
        await nothing_more(mine)
    await other.aclose()


async def test_platform_events_need_their_read_scope(live: LiveServer, admin: httpx.AsyncClient) -> None:
    created = await admin.post("/v1/keys", json={"name": "chats only", "scopes": ["chats.read"]})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    async with connect(f"{live.ws_url}/ws?{PLATFORM},library.*&token={key}") as ws:
        await ws.recv()
        made = await admin.post("/v1/workspaces", json={"name": "unseen"})
        assert made.status_code == 201, made.text
        await nothing_more(ws)
        chat = await admin.post("/api/sessions", json={"title": "seen"})
        assert chat.status_code == 201, chat.text
        assert (await next_event(ws))["topic"] == "library.chat.created"

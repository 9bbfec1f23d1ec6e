"""Fixtures of the sandbox domains (sessions, exec, files, gateway, client), imported by their
conftests. Sessions run on the real bubblewrap driver: the tests using them are marked `sandbox`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings
from shutdown_watchdog import running


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "session_reaper_interval_s": 3600.0,
        }
    )


async def create_session(admin: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("ephemeral", True)
    response = await admin.post("/v1/sessions", json=body)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
async def sandbox(admin: httpx.AsyncClient) -> dict[str, Any]:
    """A running ephemeral sandbox session."""
    return await create_session(admin)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, app: FastAPI) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[LiveServer]:
    """The test's app served by a real uvicorn on 127.0.0.1 (same event loop, app already started)."""
    server = LiveServer(app)
    task = asyncio.create_task(server.server.serve())
    while not server.server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    yield server
    server.server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


async def make_workspace(app: FastAPI, name: str = "proj", session_type: str = "sandbox") -> dict[str, str]:
    """A workspace of the owner's personal account, made directly (the workspaces API is its
    own domain's subject)."""
    from chasm.auth import repository as auth_repo
    from chasm.kit.db import transaction
    from chasm.models import Workspace

    async with transaction(app.state.sessionmaker) as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
        ws = Workspace(
            account_id=account.id,
            name=name,
            name_key=name.lower(),
            session_type=session_type,
            quota_bytes=1024**3,
        )
        db.add(ws)
        await db.flush()
        ws_id = str(ws.id)
    await app.state.workspace_storage.create(ws_id, 1024**3)
    app.state.test_disks = [*getattr(app.state, "test_disks", []), ws_id]
    return {"id": ws_id, "name": name}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app of the root conftest, and at the end: workspace disks may be loop mounts, so the
    sandboxes using them are stopped and the disks deleted (unmounted) before the data dir goes."""
    from chasm.sessions.lifecycle import shutdown

    async with running(create_app(settings)) as application:
        yield application
        disks = getattr(application.state, "test_disks", [])
        if disks:
            await shutdown(application.state.sandbox, application.state.sessionmaker)
            for disk in disks:
                await application.state.workspace_storage.delete(disk)


async def other_account_client(app: FastAPI, admin: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client holding a full-access key of another account (an organisation)."""
    import uuid

    from chasm.auth import repository as auth_repo
    from chasm.keys.service import mint_key
    from chasm.kit.db import transaction

    org = await admin.post("/v1/accounts/organizations", json={"name": f"other-{uuid.uuid4().hex[:6]}"})
    assert org.status_code == 201, org.text
    async with transaction(app.state.sessionmaker) as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        _, secret = await mint_key(
            db, app.state.secret_key, account_id=uuid.UUID(org.json()["id"]), name="other", user_id=owner.id
        )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    return httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8787", headers={"Authorization": f"Bearer {secret}"}
    )


async def scoped_client(app: FastAPI, admin: httpx.AsyncClient, scopes: list[str]) -> httpx.AsyncClient:
    created = await admin.post("/v1/keys", json={"name": "scoped", "scopes": scopes})
    assert created.status_code == 201, created.text
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8787",
        headers={"Authorization": f"Bearer {created.json()['key']}"},
    )

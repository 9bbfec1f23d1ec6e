"""Two servers on one database (PostgreSQL in CI, where CHASM_TEST_DATABASE_URL is set), each with its
own data dir: API keys made by one work on the other (shared secret; a server with another
secret refuses to start), each records its node on the
sessions it starts, looks after only those, and answers 421 naming the node for the other's."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from auth.idhelpers import client_for
from chasm.app import create_app
from chasm.config import Settings
from chasm.kit.crypto import keyed_hash
from chasm.kit.db import transaction
from chasm.models import InstanceFact, SandboxSession
from chasm.sessions.lifecycle import reap_once
from chasm.system.secret import FINGERPRINT, FINGERPRINT_INPUT, SecretMismatch
from sessions.fixtures import create_session
from shutdown_watchdog import running


@pytest.fixture
async def second(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """Another server on the same database with the same secret (CHASM_SECRET_KEY) and its own data dir."""
    node = create_app(settings.model_copy(update={"data_dir": tmp_path / "node-2", "bootstrap_admin": False}))
    async with running(node):
        yield node


async def _node_of(app: FastAPI, session_id: str) -> str | None:
    async with transaction(app.state.sessionmaker) as db:
        row = await db.get(SandboxSession, uuid.UUID(session_id))
        assert row is not None
        return row.node_id


async def _refused(client: httpx.AsyncClient, session_id: str, node: str) -> None:
    for method, path in [
        ("POST", f"/v1/sessions/{session_id}/exec"),
        ("GET", f"/v1/sessions/{session_id}/commands"),
        ("DELETE", f"/v1/sessions/{session_id}"),
    ]:
        body = {"command": "true"} if method == "POST" else None
        r = await client.request(method, path, json=body)
        assert r.status_code == 421, (method, path, r.text)
        error = r.json()["error"]
        assert error["code"] == "session_on_other_node"
        assert f"runs on node '{node}'" in error["message"] and error["details"] == {"node_id": node}


@pytest.mark.sandbox
async def test_two_servers_share_a_database(app: FastAPI, admin: httpx.AsyncClient, second: FastAPI) -> None:
    first_node, second_node = app.state.sandbox.node_id, second.state.sandbox.node_id
    assert first_node != second_node
    assert first_node.startswith(f"{socket.gethostname()}/")
    async with client_for(second, app.state.bootstrap_key) as other:
        # The first server's key authenticates on the second: both hold the same secret.
        here, there = await admin.get("/v1/accounts/current"), await other.get("/v1/accounts/current")
        assert there.status_code == 200 and there.json() == here.json()

        mine = (await create_session(admin))["id"]
        theirs = (await create_session(other))["id"]
        assert await _node_of(app, mine) == first_node
        assert await _node_of(app, theirs) == second_node
        # Records are shared; machines are reached through the node that runs them.
        assert (await other.get(f"/v1/sessions/{mine}")).json()["status"] == "running"
        await _refused(other, mine, first_node)
        await _refused(admin, theirs, second_node)
        for client, sid in ((admin, mine), (other, theirs)):
            r = await client.post(f"/v1/sessions/{sid}/exec", json={"command": "echo $CHASM_SESSION_ID"})
            assert r.status_code == 200 and r.json()["exit_code"] == 0, r.text

        # Neither server's reaper ends the other's sessions (its driver does not know them).
        assert await reap_once(second.state.sandbox, second.state.sessionmaker) == []
        assert await reap_once(app.state.sandbox, app.state.sessionmaker) == []
        assert (await admin.delete(f"/v1/sessions/{mine}")).json()["status"] == "terminated"
        assert (await other.delete(f"/v1/sessions/{theirs}")).json()["status"] == "terminated"


async def test_a_server_with_another_secret_refuses_to_start(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """Its keyed hashes would not match the database's: it would reject every API key."""
    update = {"data_dir": tmp_path / "node-3", "bootstrap_admin": False, "secret_key": "another-secret"}
    node = create_app(settings.model_copy(update=update))
    with pytest.raises(SecretMismatch, match="CHASM_SECRET_KEY"):
        async with node.router.lifespan_context(node):
            pass
    async with transaction(app.state.sessionmaker) as db:
        fact = await db.get(InstanceFact, FINGERPRINT)
        assert fact is not None and fact.value == keyed_hash(settings.secret_key or "", FINGERPRINT_INPUT)

"""The principal cache: a cached caller costs no statement, and every change to what it was
resolved from (key, user, membership, account) is seen by the next request, in this process and,
through Redis, in another server sharing the database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from auth.idhelpers import client_for, make_key, user_client
from chasm.app import create_app
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.models import ApiKey, Membership, User

REDIS_URL = "redis://127.0.0.1:6379/15"


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_cached_key_costs_no_statement(app: FastAPI, admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/v1/accounts/current")).status_code == 200
    with statements(app) as seen:
        r = await admin.get("/v1/accounts/current")
    assert r.status_code == 200 and r.json()["kind"] == "personal"
    assert seen == []


async def test_last_used_writes_keep_the_cache(app: FastAPI, admin: httpx.AsyncClient) -> None:
    key = await make_key(admin)
    generation = app.state.principals.generation
    async with client_for(app, key) as c:
        assert (await c.get("/v1/accounts/current")).status_code == 200  # a miss: writes last_used_at
    assert app.state.principals.generation == generation


async def test_changes_are_seen_by_the_next_request(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    maker = app.state.sessionmaker
    alice, alice_id = await user_client(app, client, "alice@example.com")
    async with alice:
        org = (await alice.post("/v1/accounts/organizations", json={"name": "Acme"})).json()
        carol, carol_id = await user_client(app, client, "carol@example.com")
        r = await alice.post(
            "/v1/accounts/current/members",
            json={"email": "carol@example.com", "role": "admin"},
            headers={"X-Chaser-Account": "Acme"},
        )
        assert r.status_code == 201, r.text
    async with carol:
        acme = {"X-Chaser-Account": "Acme"}
        assert (await carol.get("/v1/accounts/current", headers=acme)).json()["role"] == "admin"
        # A change made outside any endpoint (an ORM write of this app's sessions).
        async with transaction(maker) as db:
            member = await db.scalar(
                select(Membership).where(
                    Membership.account_id == uuid.UUID(org["id"]), Membership.user_id == uuid.UUID(carol_id)
                )
            )
            assert member is not None
            member.role = "member"
        assert (await carol.get("/v1/accounts/current", headers=acme)).json()["role"] == "member"
        async with transaction(maker) as db:
            user = await db.get(User, uuid.UUID(carol_id))
            assert user is not None
            user.is_active = False
        assert (await carol.get("/v1/accounts/current", headers=acme)).status_code == 401

    key = await make_key(admin)
    async with client_for(app, key) as c:
        assert (await c.get("/v1/accounts/current")).status_code == 200
        async with transaction(maker) as db:  # an ORM bulk UPDATE
            await db.execute(update(ApiKey).where(ApiKey.prefix == key[:12]).values(name="renamed"))
        generation = app.state.principals.generation
        async with transaction(maker) as db:
            await db.execute(update(ApiKey).values(revoked_at=ApiKey.created_at))
        assert app.state.principals.generation > generation
        r = await c.get("/v1/accounts/current")
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


@pytest.fixture
async def twin(settings: Settings, tmp_path: Any) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two servers on one database and one Redis, each with its own data dir, long cache TTL."""
    common = {"redis_url": REDIS_URL, "principal_cache_ttl_s": 600.0, "embedded_workers": 0}
    first = create_app(settings.model_copy(update=common))
    second = create_app(
        settings.model_copy(update={**common, "data_dir": tmp_path / "data-2", "bootstrap_admin": False})
    )
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


async def test_a_revoked_key_is_refused_at_once_by_another_server(twin: tuple[FastAPI, FastAPI]) -> None:
    first, second = twin
    async with client_for(first, first.state.bootstrap_key) as admin:
        key_id, key = await _key(admin)
        async with client_for(second, key) as other:
            assert (await other.get("/v1/accounts/current")).status_code == 200
            assert (await other.get("/v1/accounts/current")).status_code == 200  # now cached there
            assert (await admin.delete(f"/v1/keys/{key_id}")).status_code == 200
            revoked = time.monotonic()
            status = 200
            while status == 200 and time.monotonic() - revoked < 2:
                await asyncio.sleep(0)  # let the second server's bus listener read Redis
                status = (await other.get("/v1/accounts/current")).status_code
            elapsed = time.monotonic() - revoked
    assert status == 401
    assert elapsed < 1, f"refused only after {elapsed:.3f} s (TTL is 600 s)"


async def _key(admin: httpx.AsyncClient) -> tuple[str, str]:
    r = await admin.post("/v1/keys", json={"name": "twin"})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]

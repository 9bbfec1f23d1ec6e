from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from auth.idhelpers import client_for, make_key, user_client
from chasm.kit.db import transaction
from chasm.kit.timeutil import iso, utcnow
from chasm.models import ApiKey

FIELDS = {
    "id",
    "name",
    "prefix",
    "scopes",
    "service_account_id",
    "created_at",
    "last_used_at",
    "revoked_at",
    "expires_at",
}


async def test_create_list_and_revoke(app: FastAPI, admin: httpx.AsyncClient) -> None:
    expires = iso(utcnow() + timedelta(days=30))
    r = await admin.post(
        "/v1/keys", json={"name": "ci", "scopes": ["sessions.read", "keys.read"], "expires_at": expires}
    )
    assert r.status_code == 201
    created = r.json()
    assert set(created) == FIELDS | {"key"}
    assert created["key"].startswith("sk_") and created["key"].startswith(created["prefix"])
    assert created["scopes"] == ["keys.read", "sessions.read"]

    async with client_for(app, created["key"]) as ci:
        listed = (await ci.get("/v1/keys")).json()["items"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert set(mine) == FIELDS
    assert mine["last_used_at"] is not None
    assert all("key" not in k and "key_hash" not in k for k in listed)

    r = await admin.delete(f"/v1/keys/{created['id']}")
    assert r.status_code == 200
    assert r.json()["revoked_at"]
    async with client_for(app, created["key"]) as ci:
        r = await ci.get("/v1/keys")
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "unauthorized", "message": "API key has been revoked"}}
    assert (await admin.delete(f"/v1/keys/{created['id']}")).status_code == 200
    r = await admin.delete("/v1/keys/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "api_key_not_found"


async def test_scopes_are_enforced_and_cannot_be_escalated(app: FastAPI, admin: httpx.AsyncClient) -> None:
    reader = await make_key(admin, scopes=["keys.read"])
    async with client_for(app, reader) as c:
        assert (await c.get("/v1/keys")).status_code == 200
        r = await c.post("/v1/keys", json={"name": "more"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "insufficient_scope"

    writer = await make_key(admin, scopes=["keys.write", "sessions.read"])
    async with client_for(app, writer) as c:
        r = await c.post("/v1/keys", json={"name": "full"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "insufficient_scope"
        r = await c.post("/v1/keys", json={"name": "wider", "scopes": ["sessions.write"]})
        assert r.status_code == 403
        assert "sessions.write" in r.json()["error"]["message"]
        r = await c.post("/v1/keys", json={"name": "narrower", "scopes": ["sessions.read"]})
        assert r.status_code == 201

    r = await admin.post("/v1/keys", json={"name": "odd", "scopes": ["root"]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_scope"


async def test_expired_keys_are_refused(app: FastAPI, admin: httpx.AsyncClient) -> None:
    r = await admin.post("/v1/keys", json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"})
    assert r.status_code == 422
    r = await admin.post("/v1/keys", json={"name": "naive", "expires_at": "2099-01-01T00:00:00"})
    assert r.status_code == 422
    key = await make_key(admin, "soon", expires_at=iso(utcnow() + timedelta(hours=1)))
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(update(ApiKey).where(ApiKey.name == "soon").values(expires_at=utcnow()))
    async with client_for(app, key) as c:
        r = await c.get("/v1/keys")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "API key has expired"


async def test_keys_belong_to_their_account_and_owner(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    admin_key_id = (await admin.get("/v1/keys")).json()["items"][0]["id"]
    other, _ = await user_client(app, client, "mallory@example.com")
    async with other:
        created = (await other.post("/v1/keys", json={"name": "mine"})).json()
        assert [k["id"] for k in (await other.get("/v1/keys")).json()["items"]] == [created["id"]]
        r = await other.delete(f"/v1/keys/{admin_key_id}")
        assert r.status_code == 404
    assert created["id"] not in [k["id"] for k in (await admin.get("/v1/keys")).json()["items"]]

"""Bad input gets a clear error in the platform's error shape, and changes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from auth.idhelpers import client_for, make_key


async def _key_count(admin: httpx.AsyncClient) -> int:
    return len((await admin.get("/v1/keys")).json()["items"])


async def test_malformed_and_mistyped_bodies(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    before = await _key_count(admin)
    r = await admin.post("/v1/keys", content=b'{"name": "x",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"
    r = await admin.post("/v1/keys", json={"name": ["not", "a", "string"]})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("name:")
    r = await admin.post("/v1/keys", json={"name": "x", "scopes": "keys.read"})
    assert r.status_code == 422
    r = await admin.post("/v1/keys", json={"name": "x", "owner": "someone-else"})
    assert r.status_code == 422
    assert "owner" in r.json()["error"]["message"]
    r = await admin.post("/v1/ssh-keys", json={"name": "x", "public_key": "k", "comment": "extra"})
    assert r.status_code == 422
    r = await client.post("/auth/login", json={"email": "a@example.com", "password": "x", "remember": True})
    assert r.status_code == 422
    assert await _key_count(admin) == before


async def test_bad_credentials_and_account_selection(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/v1/keys")).json() == {
        "error": {"code": "unauthorized", "message": "Authentication required"}
    }
    r = await client.get("/v1/keys", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401
    assert "Bearer" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"] == "Bearer"
    async with client_for(app, "sk_not-a-real-key") as c:
        r = await c.post("/v1/keys", json={"name": "x"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Invalid API key"

    before = await _key_count(admin)
    r = await admin.post("/v1/keys", json={"name": "x"}, headers={"X-Chaser-Account": "Some Other Org"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_mismatch"
    assert await _key_count(admin) == before
    scoped = await make_key(admin, scopes=["keys.read"])
    async with client_for(app, scoped, **{"X-Chaser-Account": "personal"}) as c:
        assert (await c.get("/v1/keys")).status_code == 200

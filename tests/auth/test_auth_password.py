from __future__ import annotations

import httpx
from fastapi import FastAPI

from auth.idhelpers import PASSWORD, client_for, register


async def test_register_login_and_me(app: FastAPI, client: httpx.AsyncClient) -> None:
    body = await register(client, "Alice@Example.com", "Alice")
    assert body["user"]["email"] == "alice@example.com"
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == app.state.settings.access_token_ttl_s
    assert body["refresh_token"].startswith("rt_")

    r = await client.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 200
    pair = r.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}

    async with client_for(app, pair["access_token"]) as alice:
        me = (await alice.get("/auth/me")).json()
    assert me["user"]["email"] == "alice@example.com"
    assert me["user"]["name"] == "Alice"
    assert me["active_account"]["kind"] == "personal"
    assert [(a["kind"], a["role"]) for a in me["accounts"]] == [("personal", "owner")]
    assert "password_hash" not in me["user"]


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    await register(client, "bob@example.com")
    wrong = await client.post("/auth/login", json={"email": "bob@example.com", "password": "not the one"})
    unknown = await client.post("/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "invalid_credentials", "message": "Invalid email or password"}}
    )


async def test_failed_login_is_audited_for_the_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    body = await register(client, "carol@example.com")
    await client.post("/auth/login", json={"email": "carol@example.com", "password": "guessing-1"})
    async with client_for(app, body["access_token"]) as carol:
        events = (await carol.get("/v1/audit/events", params={"action": "user.login"})).json()["items"]
    assert [(e["action"], e["status"]) for e in events] == [("user.login", "failure")]


async def test_register_rejects_duplicates_short_passwords_and_bad_emails(client: httpx.AsyncClient) -> None:
    await register(client, "dave@example.com")
    r = await client.post("/auth/register", json={"email": "DAVE@example.com", "password": PASSWORD})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "email_taken"
    r = await client.post("/auth/register", json={"email": "erin@example.com", "password": "short"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert "password" in r.json()["error"]["message"]
    r = await client.post("/auth/register", json={"email": "not-an-email", "password": PASSWORD})
    assert r.status_code == 422
    assert "email" in r.json()["error"]["message"]
    r = await client.post(
        "/auth/register", json={"email": "f@example.com", "password": PASSWORD, "admin": True}
    )
    assert r.status_code == 422


async def test_refresh_rotates_and_reuse_revokes_the_family(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await register(client, "fay@example.com")
    r = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    async with client_for(app, second["access_token"]) as fay:
        assert (await fay.get("/auth/me")).status_code == 200

    # The rotated token comes back: someone copied it. Every token of that login dies.
    r = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_refresh_token"
    r = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401

    # Another login (another family) is untouched.
    r = await client.post("/auth/login", json={"email": "fay@example.com", "password": PASSWORD})
    r = await client.post("/auth/refresh", json={"refresh_token": r.json()["refresh_token"]})
    assert r.status_code == 200


async def test_logout_revokes_the_refresh_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    pair = await register(client, "gus@example.com")
    r = await client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 204
    again = await client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 204
    r = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401
    r = await client.post("/auth/refresh", json={"refresh_token": "rt_never-issued"})
    assert r.status_code == 401
    async with client_for(app, pair["access_token"]) as gus:
        actions = [e["action"] for e in (await gus.get("/v1/audit/events")).json()["items"]]
    assert actions == ["user.logout", "user.register"]


async def test_expired_access_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    from chasm.auth.tokens import issue_access_token

    body = await register(client, "hal@example.com")
    expired = issue_access_token(app.state.secret_key, body["user"]["id"], -120)
    async with client_for(app, expired) as hal:
        r = await hal.get("/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    async with client_for(app, body["access_token"] + "x") as forged:
        assert (await forged.get("/auth/me")).status_code == 401


async def test_me_with_the_bootstrap_key(admin: httpx.AsyncClient) -> None:
    me = (await admin.get("/auth/me")).json()
    assert me["user"]["email"] == "owner@localhost"
    assert me["principal_type"] == "user"


async def test_password_guessing_is_throttled_per_email(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.settings.login_attempts_per_email = 3
    await register(client, "frank@example.com")
    ok = await client.post("/auth/login", json={"email": "frank@example.com", "password": PASSWORD})
    assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "3" and ok.headers["X-RateLimit-Remaining"] == "2"
    guesses = [
        await client.post("/auth/login", json={"email": "Frank@example.com", "password": f"guess-{i}"})
        for i in range(2)
    ]
    assert [g.status_code for g in guesses] == [401, 401]

    refused = await client.post("/auth/login", json={"email": "frank@example.com", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Scope"] == "principal"
    # Another email from the same client is not blocked by frank's budget.
    other = await client.post("/auth/login", json={"email": "grace@example.com", "password": "whatever1"})
    assert other.status_code == 401


async def test_logins_and_registrations_are_throttled_per_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings.login_attempts_per_ip = 2
    await register(client, "heidi@example.com")
    await client.post("/auth/login", json={"email": "ivan@example.com", "password": "whatever1"})
    # register and login have separate budgets: this registration is the second on its own budget
    second = await client.post("/auth/register", json={"email": "judy@example.com", "password": PASSWORD})
    assert second.status_code == 201
    third = await client.post("/auth/register", json={"email": "mallory@example.com", "password": PASSWORD})
    assert third.status_code == 429

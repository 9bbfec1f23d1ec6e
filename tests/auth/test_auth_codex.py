from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from auth.fake_oauth import FakeProvider
from auth.idhelpers import client_for, register
from chasm.kit.crypto import Box
from chasm.kit.db import transaction
from chasm.models import CodexCredential


async def _consent(url: str) -> str:
    """What the user's browser ends on: the localhost redirect URL they paste back."""
    async with httpx.AsyncClient() as browser:
        r = await browser.get(url)
    assert r.status_code == 302
    location: str = r.headers["location"]
    return location


async def test_codex_login_pasting_the_redirect_url(
    app: FastAPI, client: httpx.AsyncClient, codex: FakeProvider
) -> None:
    user = await register(client, "coder@example.com")
    async with client_for(app, user["access_token"]) as coder:
        r = await coder.get("/auth/codex/login-url")
    assert r.status_code == 200
    started = r.json()
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["url"]).query).items()}
    assert query["client_id"] == "codex-client"
    assert query["redirect_uri"] == "http://localhost:1455/auth/callback"
    assert query["scope"] == "openid profile email offline_access"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == started["state"]
    assert started["code_verifier"]

    pasted = await _consent(started["url"])
    assert pasted.startswith("http://localhost:1455/auth/callback?code=")
    r = await client.post("/auth/codex/callback", json={"callback_url": pasted})
    assert r.status_code == 200, r.text
    connected = r.json()
    assert connected["connected"] is True
    assert connected["email"] == "coder@example.com"
    assert connected["account_id"] == "acct-77"
    assert connected["expires_at"]
    assert "access_token" not in r.text and "at_" not in r.text

    sent = codex.token_requests[-1]
    assert sent["code_verifier"] == started["code_verifier"]
    assert "client_secret" not in sent

    async with transaction(app.state.sessionmaker) as db:
        stored = (await db.execute(select(CodexCredential))).scalar_one()
    assert str(stored.user_id) == user["user"]["id"]
    assert not stored.access_token_enc.startswith("at_")
    assert Box(app.state.secret_key).decrypt(stored.access_token_enc) in codex.tokens
    assert stored.refresh_token_enc and Box(app.state.secret_key).decrypt(
        stored.refresh_token_enc
    ).startswith("rt_")

    # The state was used up.
    r = await client.post("/auth/codex/callback", json={"callback_url": pasted})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_oauth_state"


async def test_codex_callback_by_query_and_by_fields(
    admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    started = (await admin.get("/auth/codex/login-url")).json()
    back = urlsplit(await _consent(started["url"]))
    r = await client.get(f"/auth/codex/callback?{back.query}")
    assert r.status_code == 200
    assert r.json()["connected"] is True

    started = (await admin.get("/auth/codex/login-url")).json()
    code = parse_qs(urlsplit(await _consent(started["url"])).query)["code"][0]
    r = await client.post("/auth/codex/callback", json={"code": code, "state": started["state"]})
    assert r.status_code == 200


async def test_codex_errors(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    assert (await client.get("/auth/codex/login-url")).status_code == 401
    r = await client.post(
        "/auth/codex/callback", json={"callback_url": "http://localhost:1455/auth/callback"}
    )
    assert r.status_code == 422
    r = await client.post("/auth/codex/callback", json={})
    assert r.status_code == 422
    started = (await admin.get("/auth/codex/login-url")).json()
    denied = f"http://localhost:1455/auth/callback?error=access_denied&state={started['state']}"
    r = await client.post("/auth/codex/callback", json={"callback_url": denied})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_denied"
    started = (await admin.get("/auth/codex/login-url")).json()
    r = await client.post("/auth/codex/callback", json={"code": "never-issued", "state": started["state"]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_failed"

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from auth.fake_oauth import FakeProvider
from auth.idhelpers import client_for, register
from chasm.config import Settings


async def _authorize(location: str) -> str:
    """Follow the provider's consent page (the fake approves at once); answer our callback path."""
    async with httpx.AsyncClient() as browser:
        r = await browser.get(location)
    assert r.status_code == 302, r.text
    back = urlsplit(r.headers["location"])
    return f"{back.path}?{back.query}"


async def _oauth_login(client: httpx.AsyncClient, provider: str) -> httpx.Response:
    r = await client.get(f"/auth/{provider}/login")
    assert r.status_code == 302
    callback = await _authorize(r.headers["location"])
    return await client.get(callback)


async def test_google_login_uses_state_and_pkce(
    app: FastAPI, client: httpx.AsyncClient, google: FakeProvider
) -> None:
    r = await client.get("/auth/google/login")
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{google.base}/authorize"
    assert query["client_id"] == "google-client"
    assert query["redirect_uri"] == "http://127.0.0.1:8787/auth/google/callback"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] and query["code_challenge"]
    assert "email" in query["scope"]

    callback = await _authorize(r.headers["location"])
    r = await client.get(callback)
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["token_type"] == "bearer"
    # The token request carried the client secret and the verifier matching the challenge.
    sent = google.token_requests[-1]
    assert sent["client_secret"] == "google-secret"
    assert sent["code_verifier"]

    async with client_for(app, pair["access_token"]) as gina:
        me = (await gina.get("/auth/me")).json()
    assert me["user"]["email"] == "gina@example.com"
    assert me["user"]["email_verified"] is True

    # A second login finds the same user through the stored identity.
    again = await _oauth_login(client, "google")
    async with client_for(app, again.json()["access_token"]) as gina:
        assert (await gina.get("/auth/me")).json()["user"]["id"] == me["user"]["id"]


async def test_github_login_links_an_existing_user_by_verified_email(
    app: FastAPI, client: httpx.AsyncClient, github: FakeProvider
) -> None:
    existing = await register(client, "octo@example.com")
    r = await _oauth_login(client, "github")
    assert r.status_code == 200, r.text
    assert "client_secret" in github.token_requests[-1]
    async with client_for(app, r.json()["access_token"]) as octo:
        me = (await octo.get("/auth/me")).json()
    assert me["user"]["id"] == existing["user"]["id"]


async def test_github_without_verified_primary_email_is_refused(
    client: httpx.AsyncClient, github: FakeProvider
) -> None:
    github.emails = [{"email": "octo@example.com", "primary": True, "verified": False}]
    r = await _oauth_login(client, "github")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_email_unverified"


async def test_state_is_single_use_and_must_exist(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/google/login")
    callback = await _authorize(r.headers["location"])
    assert (await client.get(callback)).status_code == 200
    replay = await client.get(callback)
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_oauth_state"
    forged = await client.get("/auth/github/callback", params={"code": "x", "state": "made-up"})
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "invalid_oauth_state"
    # A state from Google is not valid at GitHub's callback.
    r = await client.get("/auth/google/login")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    crossed = await client.get("/auth/github/callback", params={"code": "x", "state": state})
    assert crossed.status_code == 400


async def test_a_bad_code_is_a_clear_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/google/login")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    r = await client.get("/auth/google/callback", params={"code": "never-issued", "state": state})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_failed"
    assert "invalid_grant" in r.json()["error"]["message"]


async def test_expired_state_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from chasm.kit.db import transaction
    from chasm.kit.timeutil import utcnow
    from chasm.models import OAuthState

    r = await client.get("/auth/google/login")
    callback = await _authorize(r.headers["location"])
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(update(OAuthState).values(expires_at=utcnow()))
    r = await client.get(callback)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_oauth_state"


async def test_unconfigured_provider_is_404(settings: Settings) -> None:
    from chasm.app import create_app

    bare = create_app(settings.model_copy(update={"google_client_id": None, "github_client_id": None}))
    async with bare.router.lifespan_context(bare):
        transport = httpx.ASGITransport(app=bare, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
            for path in ("/auth/google/login", "/auth/github/login", "/auth/github/callback"):
                r = await c.get(path)
                assert r.status_code == 404
                assert r.json()["error"]["code"] == "oauth_provider_not_configured"
            assert (await c.get("/auth/providers")).json() == {"providers": []}


async def test_providers_lists_the_configured_ones(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/providers")  # no credentials: the sign-in page asks it
    assert r.status_code == 200
    assert r.json() == {
        "providers": [
            {"name": "google", "login_url": "/auth/google/login"},
            {"name": "github", "login_url": "/auth/github/login"},
        ]
    }


async def test_a_dashboard_flow_ends_at_the_dashboard_signed_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    r = await client.get("/auth/github/login", params={"dashboard": "true"})
    assert r.status_code == 302
    back = await client.get(await _authorize(r.headers["location"]))
    assert back.status_code == 302
    target = urlsplit(back.headers["location"])
    assert target.path == "/" and not target.query  # the token travels in the fragment only
    refresh_token = parse_qs(target.fragment)["oauth_refresh_token"][0]
    # The page trades it for a pair at once; the one left in the browser's history is then spent.
    pair = await client.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert pair.status_code == 200, pair.text
    async with client_for(app, pair.json()["access_token"]) as octo:
        assert (await octo.get("/auth/me")).json()["user"]["email"] == "octo@example.com"
    assert (await client.post("/auth/refresh", json={"refresh_token": refresh_token})).status_code == 401


async def test_a_failed_dashboard_flow_says_why_on_the_dashboard(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/google/login", params={"dashboard": "true"})
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    denied = await client.get("/auth/google/callback", params={"error": "access_denied", "state": state})
    assert denied.status_code == 302
    reason = parse_qs(urlsplit(denied.headers["location"]).fragment)["oauth_error"][0]
    assert "access_denied" in reason
    # The dashboard mark is part of the (hashed) state: a state changed to carry it is unknown.
    r = await client.get("/auth/google/login")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    forged = await client.get("/auth/google/callback", params={"code": "x", "state": state + ".dashboard"})
    assert forged.status_code == 302
    assert "oauth_error" in urlsplit(forged.headers["location"]).fragment

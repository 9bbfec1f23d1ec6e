"""Self-registration follows CHASM_REGISTRATION (open | invite | closed; closed by default on a
non-loopback bind), for passwords and OAuth sign-up alike; existing users always log in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from auth.fake_oauth import FakeProvider
from auth.idhelpers import PASSWORD, client_for, register
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.models import OAuthState


@pytest.mark.parametrize(
    ("host", "mode", "expected"),
    [
        ("127.0.0.1", None, "open"),
        ("::1", None, "open"),
        ("localhost", None, "open"),
        ("0.0.0.0", None, "closed"),
        ("203.0.113.5", None, "closed"),
        ("0.0.0.0", "open", "open"),
        ("127.0.0.1", "closed", "closed"),
        ("127.0.0.1", "Invite", "invite"),
        ("127.0.0.1", "nonsense", "closed"),
    ],
)
def test_default_follows_the_bind_address(host: str, mode: str | None, expected: str) -> None:
    assert Settings(host=host, registration=mode).effective_registration == expected


async def test_closed_and_invite_refuse_registration_but_not_login(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client, "early@example.com")  # the test app's own mode: open (loopback)
    for mode, words in (("closed", "closed"), ("invite", "invitation")):
        app.state.settings.registration = mode
        r = await client.post(
            "/auth/register", json={"email": f"new-{mode}@example.com", "password": PASSWORD}
        )
        assert r.status_code == 403, r.text
        error = r.json()["error"]
        assert error["code"] == "registration_closed"
        assert words in error["message"]
        login = await client.post("/auth/login", json={"email": "early@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text


async def test_a_non_loopback_bind_is_closed_by_default(app: FastAPI, client: httpx.AsyncClient) -> None:
    app.state.settings.host = "0.0.0.0"
    r = await client.post("/auth/register", json={"email": "late@example.com", "password": PASSWORD})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "registration_closed"


async def _oauth_login(client: httpx.AsyncClient, provider: str) -> httpx.Response:
    r = await client.get(f"/auth/{provider}/login")
    assert r.status_code == 302
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(r.headers["location"])
    back = urlsplit(consent.headers["location"])
    return await client.get(f"{back.path}?{back.query}")


async def test_oauth_sign_up_obeys_the_mode_and_existing_users_still_log_in(
    app: FastAPI, client: httpx.AsyncClient, google: FakeProvider, github: FakeProvider
) -> None:
    await register(client, "octo@example.com")  # GitHub's verified email: an existing user
    app.state.settings.registration = "closed"
    refused = await _oauth_login(client, "google")  # gina@example.com is new
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "registration_closed"
    linked = await _oauth_login(client, "github")
    assert linked.status_code == 200, linked.text


async def test_oauth_state_is_stored_hashed_and_the_verifier_not_at_all(
    app: FastAPI, client: httpx.AsyncClient, google: FakeProvider
) -> None:
    r = await client.get("/auth/google/login")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    async with transaction(app.state.sessionmaker) as db:
        rows = (await db.execute(select(OAuthState))).scalars().all()
    assert len(rows) == 1
    assert rows[0].state != state and state not in rows[0].state
    assert rows[0].code_verifier is None
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(r.headers["location"])
    back = urlsplit(consent.headers["location"])
    done = await client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200, done.text
    assert google.token_requests[-1]["code_verifier"]  # the PKCE check passed with it


async def test_invite_mode_admits_exactly_the_invited(
    app: FastAPI, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    from chasm.models import Invite

    outsider = await register(client, "outsider@example.com")  # while open
    async with client_for(app, outsider["access_token"]) as c:
        refused = await c.post("/v1/invites", json={})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "instance_admin_required"
    created = await admin.post("/v1/invites", json={"note": "for dana"})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert code.startswith("inv_")

    app.state.settings.registration = "invite"
    new = {"email": "dana@example.com", "password": PASSWORD}
    r = await client.post("/auth/register", json=new)
    assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"
    assert "invite_code" in r.json()["error"]["message"]
    r = await client.post("/auth/register", json={**new, "invite_code": "inv_made-up"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_invite"
    r = await client.post("/auth/register", json={**new, "invite_code": code})
    assert r.status_code == 201, r.text
    again = await client.post(
        "/auth/register", json={"email": "eve@example.com", "password": PASSWORD, "invite_code": code}
    )
    assert again.status_code == 403 and again.json()["error"]["code"] == "invalid_invite"
    # The refused registration left no user behind; the code is stored only hashed.
    app.state.settings.registration = "open"
    await register(client, "eve@example.com")
    listed = (await admin.get("/v1/invites")).json()["items"]
    assert [(i["note"], i["used_by"] is not None) for i in listed] == [("for dana", True)]
    assert "code" not in listed[0]
    async with transaction(app.state.sessionmaker) as db:
        stored = (await db.execute(select(Invite))).scalars().one()
    assert code not in stored.code_hash
    assert (await admin.delete(f"/v1/invites/{listed[0]['id']}")).status_code == 204
    assert (await admin.get("/v1/invites")).json()["items"] == []


async def test_closed_refuses_even_an_invitation(
    app: FastAPI, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    code = (await admin.post("/v1/invites", json={})).json()["code"]
    app.state.settings.registration = "closed"
    r = await client.post(
        "/auth/register", json={"email": "x@example.com", "password": PASSWORD, "invite_code": code}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"

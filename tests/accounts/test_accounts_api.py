from __future__ import annotations

import httpx
from fastapi import FastAPI

from auth.idhelpers import client_for, make_key, register, user_client


async def _org(c: httpx.AsyncClient, name: str = "Acme Engineering") -> dict[str, object]:
    r = await c.post("/v1/accounts/organizations", json={"name": name})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def test_accounts_list_and_current(admin: httpx.AsyncClient) -> None:
    accounts = (await admin.get("/v1/accounts")).json()["items"]
    assert [(a["kind"], a["role"]) for a in accounts] == [("personal", "owner")]
    current = (await admin.get("/v1/accounts/current")).json()
    assert current["id"] == accounts[0]["id"]
    assert current["kind"] == "personal"


async def test_organization_lifecycle(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    alice, _ = await user_client(app, client, "alice@example.com")
    bob, _ = await user_client(app, client, "bob@example.com")
    async with alice, bob:
        org = await _org(alice)
        assert org["kind"] == "organization" and org["role"] == "owner"
        r = await bob.post("/v1/accounts/organizations", json={"name": "acme engineering"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "organization_name_taken"
        r = await bob.post("/v1/accounts/organizations", json={"name": "personal"})
        assert r.status_code == 422

        # Alice selects it by name or by id; Bob, not a member, cannot.
        for selector in ("Acme Engineering", str(org["id"])):
            r = await alice.get("/v1/accounts/current", headers={"X-Chaser-Account": selector})
            assert r.json()["id"] == org["id"]
        personal = await alice.get("/v1/accounts/current", headers={"X-Chaser-Account": "personal"})
        assert personal.json()["kind"] == "personal"
        accounts = (await alice.get("/v1/accounts")).json()["items"]
        assert sorted(a["kind"] for a in accounts) == ["organization", "personal"]
        r = await bob.get("/v1/accounts/current", headers={"X-Chaser-Account": str(org["id"])})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "account_not_found"

    # An API key is bound to its account: the owner's key cannot act on an organization.
    await _org(admin, "Owners Inc")
    r = await admin.get("/v1/accounts/current/members", headers={"X-Chaser-Account": "Owners Inc"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_mismatch"


async def test_members_roles_and_last_owner(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_id = await user_client(app, client, "alice@example.com")
    bob, bob_id = await user_client(app, client, "bob@example.com")
    carol, carol_id = await user_client(app, client, "carol@example.com")
    async with alice, bob, carol:
        await _org(alice, "Team")
        team = {"X-Chaser-Account": "Team"}
        r = await alice.post(
            "/v1/accounts/current/members", json={"email": "bob@example.com", "role": "admin"}, headers=team
        )
        assert r.status_code == 201
        assert r.json()["role"] == "admin"
        r = await alice.post("/v1/accounts/current/members", json={"email": "bob@example.com"}, headers=team)
        assert r.status_code == 409
        r = await alice.post("/v1/accounts/current/members", json={"email": "zed@example.com"}, headers=team)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "user_not_found"

        # Bob (admin) adds Carol as member but cannot make anyone owner.
        r = await bob.post("/v1/accounts/current/members", json={"email": "carol@example.com"}, headers=team)
        assert r.status_code == 201
        r = await bob.patch(f"/v1/accounts/current/members/{carol_id}", json={"role": "owner"}, headers=team)
        assert r.status_code == 403
        r = await bob.patch(f"/v1/accounts/current/members/{alice_id}", json={"role": "member"}, headers=team)
        assert r.status_code == 403
        # Carol (member) cannot manage anyone.
        r = await carol.patch(f"/v1/accounts/current/members/{bob_id}", json={"role": "member"}, headers=team)
        assert r.status_code == 403

        members = (await carol.get("/v1/accounts/current/members", headers=team)).json()["items"]
        assert {m["email"]: m["role"] for m in members} == {
            "alice@example.com": "owner",
            "bob@example.com": "admin",
            "carol@example.com": "member",
        }

        # The last owner can be neither demoted nor removed.
        r = await alice.patch(
            f"/v1/accounts/current/members/{alice_id}", json={"role": "admin"}, headers=team
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "last_owner"
        r = await alice.delete(f"/v1/accounts/current/members/{alice_id}", headers=team)
        assert r.status_code == 409
        # With a second owner, the first may step down.
        r = await alice.patch(
            f"/v1/accounts/current/members/{carol_id}", json={"role": "owner"}, headers=team
        )
        assert r.status_code == 200
        r = await alice.patch(
            f"/v1/accounts/current/members/{alice_id}", json={"role": "member"}, headers=team
        )
        assert r.status_code == 200

        # Carol (now owner) removes Bob; Bob loses access.
        r = await carol.delete(f"/v1/accounts/current/members/{bob_id}", headers=team)
        assert r.status_code == 204
        r = await bob.get("/v1/accounts/current", headers=team)
        assert r.status_code == 404
        r = await carol.delete(f"/v1/accounts/current/members/{bob_id}", headers=team)
        assert r.status_code == 404
        r = await carol.patch(
            "/v1/accounts/current/members/not-a-uuid", json={"role": "member"}, headers=team
        )
        assert r.status_code == 422


async def test_personal_accounts_have_no_members(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    await register(client, "bob@example.com")
    r = await admin.post("/v1/accounts/current/members", json={"email": "bob@example.com"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "personal_account"


async def test_scoped_keys_cannot_administer_accounts(admin: httpx.AsyncClient, app: FastAPI) -> None:
    key = await make_key(admin, scopes=["keys.read", "keys.write"])
    async with client_for(app, key) as scoped:
        r = await scoped.post("/v1/accounts/organizations", json={"name": "Sneaky"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "full_access_required"
        r = await scoped.post("/v1/accounts/current/service-accounts", json={"name": "bot"})
        assert r.status_code == 403


async def test_service_accounts_and_their_keys(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/v1/accounts/current/service-accounts", json={"name": "ci-bot", "description": "CI"}
    )
    assert r.status_code == 201
    sa = r.json()
    assert (await admin.get("/v1/accounts/current/service-accounts")).json()["items"][0]["id"] == sa["id"]

    r = await admin.post(
        f"/v1/accounts/current/service-accounts/{sa['id']}/keys",
        json={"name": "deploy", "scopes": ["sessions.read"]},
    )
    assert r.status_code == 201
    created = r.json()
    assert created["service_account_id"] == sa["id"]
    listed = (await admin.get(f"/v1/accounts/current/service-accounts/{sa['id']}/keys")).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]

    async with client_for(app, created["key"]) as bot:
        me = (await bot.get("/auth/me")).json()
        assert me["principal_type"] == "service_account"
        assert me["service_account_id"] == sa["id"]
        # A service account is not an owner or admin: it cannot manage service accounts.
        r = await bot.get(f"/v1/accounts/current/service-accounts/{sa['id']}/keys")
        assert r.status_code == 403

    r = await admin.delete(f"/v1/accounts/current/service-accounts/{sa['id']}/keys/{created['id']}")
    assert r.status_code == 200
    assert r.json()["revoked_at"]
    async with client_for(app, created["key"]) as bot:
        assert (await bot.get("/auth/me")).status_code == 401

    second = (
        await admin.post(f"/v1/accounts/current/service-accounts/{sa['id']}/keys", json={"name": "x"})
    ).json()
    r = await admin.delete(f"/v1/accounts/current/service-accounts/{sa['id']}")
    assert r.status_code == 204
    async with client_for(app, second["key"]) as bot:
        assert (await bot.get("/auth/me")).status_code == 401
    r = await admin.get(f"/v1/accounts/current/service-accounts/{sa['id']}/keys")
    assert r.status_code == 404

    # Another user's account does not see this one's service accounts.
    other, _ = await user_client(app, client, "eve@example.com")
    async with other:
        assert (await other.get("/v1/accounts/current/service-accounts")).json()["items"] == []
        r = await other.delete(f"/v1/accounts/current/service-accounts/{sa['id']}")
        assert r.status_code == 404

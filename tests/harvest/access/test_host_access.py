"""Issue 9: the server's own files (default harvest roots, configured roots, paths) and its upkeep
belong to instance administrators; every other user of the same server is refused."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from auth.idhelpers import register
from chasm.models import Chat, ChatSettings, User
from chasm.watch.lifecycle import wanted_accounts


def chat_error(r: httpx.Response) -> dict[str, str]:
    """The error of either chat surface: 001's object (/api/v1) or 003's envelope (/api)."""
    body: dict[str, object] = r.json()
    error = body["error"]
    return body if isinstance(error, str) else error  # type: ignore[return-value]


async def test_a_second_user_cannot_harvest_the_servers_folders(
    second: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    for prefix in ("/api/v1", "/api"):
        r = await second.post(f"{prefix}/harvest", json={})
        assert r.status_code == 403, r.text
        error = r.json() if prefix == "/api/v1" else r.json()["error"]
        assert r.json().get("success", False) is False
        assert error["code"] == "INSTANCE_ADMIN_REQUIRED"
        assert "/harvest/upload" in error["message"]
        assert (await second.post(f"{prefix}/workspaces/discover")).status_code == 403
    listed = (await second.get("/api/sessions")).json()["data"]
    assert listed["total"] == 0
    # Nor through the jobs API, nor by retrying one of its own jobs.
    r = await second.post("/v1/jobs", json={"kind": "harvest.run", "input": {}})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "instance_admin_required"

    # The instance administrator still harvests the server's folders.
    done = await admin.post("/api/harvest", json={})
    assert done.status_code == 200, done.text
    assert done.json()["data"]["sessions_count"] >= 1


async def test_a_second_user_cannot_set_harvest_roots(
    second: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    for prefix in ("/api/v1", "/api"):
        r = await second.put(f"{prefix}/settings", json={"harvest": {"roots": {"aider": ["/etc"]}}})
        assert r.status_code == 403, r.text
        assert chat_error(r)["code"] == "INSTANCE_ADMIN_REQUIRED"
    assert (await second.put("/api/settings", json={"theme": "dark"})).status_code == 200
    shown = (await second.get("/api/settings")).json()["data"]
    assert shown["harvest"] == {"roots": {}}
    # The whole document sent back as GET showed it is fine: it names no folder.
    back = await second.put("/api/settings", json=shown)
    assert back.status_code == 200, back.text

    r = await admin.put("/api/settings", json={"harvest": {"roots": {"aider": ["/srv/notes"]}}})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["harvest"]["roots"] == {"aider": ["/srv/notes"]}


async def test_a_second_user_sees_no_server_paths(
    app: FastAPI, second: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    providers = (await second.get("/api/providers")).json()["data"]
    assert providers and all(p["paths"] == [] and p["roots"] == [] for p in providers)
    one = (await second.get("/api/providers/claude-code")).json()["data"]
    assert one["roots"] == [] and one["found"] is False

    mine = {p["id"]: p for p in (await admin.get("/api/providers")).json()["data"]}
    assert mine["claude-code"]["found"] is True
    assert any(path.endswith("/.claude/projects") for path in mine["claude-code"]["paths"])

    # A harvested chat's source_path is the file on the server: full for an administrator, null for
    # anyone else (here the same user once the flag is taken away).
    assert (await admin.post("/api/harvest", json={})).status_code == 200
    chat = (await admin.get("/api/sessions")).json()["data"]["sessions"][0]
    assert chat["source_path"].startswith("/") and chat["source_path"].endswith("0f0e0d0c-owner.jsonl")
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(update(User).values(is_instance_admin=False))
    for path in (
        "/api/sessions",
        f"/api/sessions/{chat['id']}",
        f"/api/sessions/{chat['id']}/export?format=json",
    ):
        body = (await admin.get(path)).json()
        found = body.get("data", body)
        found = found["sessions"][0] if "sessions" in found else found.get("session", found)
        assert found["source_path"] is None, path
    async with app.state.sessionmaker() as db:
        stored = (await db.scalars(select(Chat.source_path))).first()
    assert stored is not None and stored.startswith("/")


async def test_a_second_user_cannot_maintain_the_server(
    second: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    for prefix in ("/api/v1", "/api"):
        for path in ("/system/vacuum", "/system/cache/clear"):
            r = await second.post(f"{prefix}{path}")
            assert r.status_code == 403, (path, r.text)
            assert chat_error(r)["code"] == "INSTANCE_ADMIN_REQUIRED"
    assert (await admin.post("/api/system/vacuum")).status_code == 200
    assert (await admin.post("/api/system/cache/clear")).status_code == 200


async def test_an_account_owner_is_not_an_instance_admin_until_granted(
    app: FastAPI, second: httpx.AsyncClient
) -> None:
    me = (await second.get("/auth/me")).json()
    assert me["instance_admin"] is False
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(update(User).where(User.email == me["user"]["email"]).values(is_instance_admin=True))
    assert (await second.get("/auth/me")).json()["instance_admin"] is True
    assert (await second.post("/api/system/cache/clear")).status_code == 200
    done = await second.post("/api/harvest", json={})
    assert done.status_code == 200, done.text


async def test_a_second_user_cannot_watch_the_servers_folders(
    app: FastAPI, client: httpx.AsyncClient, second: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """The attack: make an instance administrator a co-owner of one's own organization (no consent
    is asked), turn `auto_harvest` on there, and let the server's watch harvest its owner's
    history into that organization."""
    granted = await register(client, f"admin-{uuid.uuid4().hex[:6]}@example.com")
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(
            update(User).where(User.email == granted["user"]["email"]).values(is_instance_admin=True)
        )
    org = (await second.post("/v1/accounts/organizations", json={"name": "mine"})).json()
    in_org = {"X-Chaser-Account": org["id"]}
    member = {"email": granted["user"]["email"], "role": "owner"}
    added = await second.post("/v1/accounts/current/members", json=member, headers=in_org)
    assert added.status_code == 201, added.text
    for prefix in ("/api/v1", "/api"):
        for change in ({"auto_harvest": True}, {"harvest_interval_minutes": 1}):
            r = await second.put(f"{prefix}/settings", json=change, headers=in_org)
            assert r.status_code == 403, r.text
            assert chat_error(r)["code"] == "INSTANCE_ADMIN_REQUIRED"
    # The document as GET shows it (the watch fields unchanged) is still accepted.
    shown = (await second.get("/api/settings", headers=in_org)).json()["data"]
    back = await second.put("/api/settings", json={**shown, "theme": "dark"}, headers=in_org)
    assert back.status_code == 200, back.text

    # A flag already stored (written before this rule) does not make the server watch for them:
    # only accounts that instance administrators alone own are watched.
    async with app.state.sessionmaker() as db, db.begin():
        await db.merge(ChatSettings(account_id=uuid.UUID(org["id"]), data={"auto_harvest": True}))
    assert (await admin.put("/api/settings", json={"auto_harvest": True})).status_code == 200
    watched = await wanted_accounts(app)
    mine = (await admin.get("/v1/accounts/current")).json()["id"]
    assert set(watched) == {uuid.UUID(mine)}

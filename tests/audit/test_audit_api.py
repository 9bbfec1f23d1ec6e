from __future__ import annotations

import httpx
from fastapi import FastAPI

from auth.idhelpers import client_for, make_key, user_client
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import AuditEvent

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMzKmoCvgAdK4Q3pVr6KhmJbbFj8wHBlOZGhlqEl/ZjS test@chasm"


async def test_mutations_are_audited_newest_first(admin: httpx.AsyncClient) -> None:
    created = (await admin.post("/v1/keys", json={"name": "ci"})).json()
    await admin.delete(f"/v1/keys/{created['id']}")
    ssh = (await admin.post("/v1/ssh-keys", json={"name": "laptop", "public_key": KEY})).json()
    await admin.delete(f"/v1/ssh-keys/{ssh['id']}")
    sa = (await admin.post("/v1/accounts/current/service-accounts", json={"name": "bot"})).json()
    await admin.delete(f"/v1/accounts/current/service-accounts/{sa['id']}")

    events = (await admin.get("/v1/audit/events")).json()["items"]
    assert [e["action"] for e in events] == [
        "service_account.delete",
        "service_account.create",
        "ssh_key.delete",
        "ssh_key.create",
        "api_key.revoke",
        "api_key.create",
        "api_key.create",  # the bootstrap key
    ]
    revoke = events[4]
    assert revoke["resource_type"] == "api_key" and revoke["resource_id"] == created["id"]
    assert revoke["actor_type"] == "user" and revoke["status"] == "success"
    assert set(revoke) == {
        "id",
        "actor_type",
        "actor_id",
        "action",
        "resource_type",
        "resource_id",
        "status",
        "summary",
        "metadata",
        "created_at",
    }
    assert revoke["metadata"]["api_key_id"]  # made with the bootstrap key


async def test_filters_and_cursor(app: FastAPI, admin: httpx.AsyncClient) -> None:
    for n in range(5):
        await admin.post("/v1/keys", json={"name": f"k{n}"})
    first = (await admin.get("/v1/audit/events", params={"action": "api_key.create", "limit": 2})).json()
    only = first["items"]
    assert [e["summary"] for e in only] == ["k4", "k3"]
    assert (first["total"], first["limit"], first["offset"]) == (6, 2, 0)  # and the bootstrap key
    page2 = (
        await admin.get(
            "/v1/audit/events", params={"action": "api_key.create", "limit": 2, "before": only[-1]["id"]}
        )
    ).json()
    assert [e["summary"] for e in page2["items"]] == ["k2", "k1"]
    assert page2["total"] == 4  # the cursor is a filter: four events come before it
    by_offset = (
        await admin.get("/v1/audit/events", params={"action": "api_key.create", "limit": 2, "offset": 2})
    ).json()
    assert [e["summary"] for e in by_offset["items"]] == ["k2", "k1"] and by_offset["total"] == 6
    by_resource = (
        await admin.get("/v1/audit/events", params={"resource_id": only[0]["resource_id"]})
    ).json()["items"]
    assert [e["summary"] for e in by_resource] == ["k4"]
    assert (await admin.get("/v1/audit/events", params={"status": "failure"})).json()["items"] == []
    assert (await admin.get("/v1/audit/events", params={"resource_type": "ssh_key"})).json()["items"] == []

    future = "2999-01-01T00:00:00Z"
    assert len((await admin.get("/v1/audit/events", params={"before": future})).json()["items"]) == 6
    assert (await admin.get("/v1/audit/events", params={"before": "2000-01-01T00:00:00+00:00"})).json()[
        "items"
    ] == []
    r = await admin.get("/v1/audit/events", params={"before": "yesterday"})
    assert r.status_code == 422
    r = await admin.get("/v1/audit/events", params={"limit": 501})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert (await admin.get("/v1/audit/events", params={"limit": 500})).status_code == 200


async def test_events_are_account_scoped_and_need_audit_read(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    async with transaction(app.state.sessionmaker) as db:
        db.add(AuditEvent(account_id=None, actor_type="system", action="system.start", created_at=utcnow()))
    other, _ = await user_client(app, client, "ivy@example.com")
    async with other:
        events = (await other.get("/v1/audit/events")).json()["items"]
        assert [e["action"] for e in events] == ["user.register"]
        admin_event = (await admin.get("/v1/audit/events")).json()["items"][0]
        r = await other.get("/v1/audit/events", params={"before": admin_event["id"]})
        assert r.status_code == 404
    no_audit = await make_key(admin, scopes=["keys.read"])
    async with client_for(app, no_audit) as c:
        r = await c.get("/v1/audit/events")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "insufficient_scope"
    auditor = await make_key(admin, scopes=["audit.read"])
    async with client_for(app, auditor) as c:
        assert (await c.get("/v1/audit/events")).status_code == 200

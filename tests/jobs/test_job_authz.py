"""Every job kind declares a scope; cancelling or retrying a job takes the scope (and the instance
administrator flag) that enqueueing its kind takes, so a retry never runs what the caller could not
enqueue."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from auth.idhelpers import client_for, make_key, register, user_client
from chasm.jobs import registry
from chasm.kit.timeutil import utcnow


def later() -> str:
    return (utcnow() + timedelta(hours=1)).isoformat()


async def test_every_kind_declares_a_scope() -> None:
    kinds = registry.all_kinds()
    assert {k.name for k in kinds} >= {"audit.prune", "harvest.run", "session.terminate", "workspace.import"}
    assert [k.name for k in kinds if not k.scope] == []
    assert registry.get_kind("harvest.run").scope == "harvest.run"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="must declare a scope"):
        registry.job_kind("test.unscoped", BaseModel, scope="")


async def test_retry_and_cancel_need_the_kinds_scope(app: FastAPI, admin: httpx.AsyncClient) -> None:
    """The issue's case: a read-only key ended a session by retrying a `session.terminate` job."""
    r = await admin.post(
        "/v1/jobs", json={"kind": "session.terminate", "input": {"session_id": "x"}, "run_at": later()}
    )
    assert r.status_code == 201, r.text
    job = r.json()["id"]
    reader = await make_key(admin, "reader", scopes=["sessions.read"])
    writer = await make_key(admin, "writer", scopes=["sessions.write"])
    async with client_for(app, reader) as c:
        refused = await c.post(f"/v1/jobs/{job}/cancel")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
        assert "'sessions.write'" in refused.json()["error"]["message"]
    async with client_for(app, writer) as c:
        assert (await c.post(f"/v1/jobs/{job}/cancel")).json()["status"] == "canceled"
    async with client_for(app, reader) as c:
        refused = await c.post(f"/v1/jobs/{job}/retry")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
    assert (await admin.get(f"/v1/jobs/{job}")).json()["status"] == "canceled"
    async with client_for(app, writer) as c:
        retried = await c.post(f"/v1/jobs/{job}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "queued"


async def test_host_harvest_jobs_are_for_instance_admins(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    user = await register(client, "other@example.com")
    async with client_for(app, user["access_token"]) as c:
        r = await c.post("/v1/jobs", json={"kind": "harvest.run", "input": {}})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "instance_admin_required"
        kinds = {k["kind"]: k for k in (await c.get("/v1/jobs/kinds")).json()["items"]}
        assert kinds["harvest.run"]["instance_admin"] is True
        assert kinds["harvest.run"]["scope"] == "harvest.run"
    # Input is checked in full when enqueued: an unknown provider is a 422 now, not a failed job.
    r = await admin.post("/v1/jobs", json={"kind": "harvest.run", "input": {"providers": ["nope"]}})
    assert r.status_code == 422
    assert "unknown provider" in r.json()["error"]["message"]


async def test_server_only_kinds_cannot_be_enqueued_over_http(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        "/v1/jobs",
        json={"kind": "workspace.import", "input": {"workspace_id": "x", "url": "file:///etc"}},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_job_kind"
    kinds = {k["kind"] for k in (await admin.get("/v1/jobs/kinds")).json()["items"]}
    assert "workspace.import" not in kinds


async def test_pruning_the_audit_trail_is_not_a_read(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    """audit.prune deletes the account's audit events: a read-only key or a plain member of the
    account cannot enqueue it (or retry one)."""
    prune = {"kind": "audit.prune", "input": {"older_than_days": 30}}
    reader = await make_key(admin, "auditor", scopes=["audit.read"])
    async with client_for(app, reader) as c:
        r = await c.post("/v1/jobs", json=prune)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "insufficient_scope"
        assert "'audit.write'" in r.json()["error"]["message"]
    kinds = {k["kind"]: k for k in (await admin.get("/v1/jobs/kinds")).json()["items"]}
    assert kinds["audit.prune"]["scope"] == "audit.write"
    assert kinds["audit.prune"]["account_admin"] is True

    alice, _ = await user_client(app, client, "alice@example.com")
    bob, _ = await user_client(app, client, "bob@example.com")
    async with alice, bob:
        r = await alice.post("/v1/accounts/organizations", json={"name": "Team"})
        assert r.status_code == 201, r.text
        team = {"X-Chaser-Account": "Team"}
        r = await alice.post("/v1/accounts/current/members", json={"email": "bob@example.com"}, headers=team)
        assert r.status_code == 201, r.text
        refused = await bob.post("/v1/jobs", json=prune, headers=team)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        allowed = await alice.post("/v1/jobs", json=prune, headers=team)
        assert allowed.status_code == 201, allowed.text

"""The jobs API and engine through HTTP: enqueue, run, retry with backoff, timeout, cancel, recover."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jobs_kinds
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from chasm.jobs import service, worker
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import Account, AuditEvent, Job

TERMINAL = ("succeeded", "failed", "canceled")


async def wait_for_status(
    client: httpx.AsyncClient, job_id: str, statuses: tuple[str, ...] = TERMINAL
) -> Any:
    for _ in range(400):
        body = (await client.get(f"/v1/jobs/{job_id}")).json()
        if body["status"] in statuses:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {body['status']}")


async def create(client: httpx.AsyncClient, kind: str, data: dict[str, Any], **extra: Any) -> Any:
    response = await client.post("/v1/jobs", json={"kind": kind, "input": data, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_kinds_list_their_input_schema(admin: httpx.AsyncClient) -> None:
    kinds = {k["kind"]: k for k in (await admin.get("/v1/jobs/kinds")).json()["items"]}
    prune = kinds["audit.prune"]
    assert prune["input_schema"]["properties"]["older_than_days"]["type"] == "integer"
    assert prune["input_schema"]["required"] == ["older_than_days"]
    assert prune["max_attempts"] == 3 and prune["timeout_s"] == 600
    assert kinds["test.flaky"]["description"] == "Fails twice, then succeeds"


async def test_unknown_kind_and_invalid_input(admin: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    unknown = await admin.post("/v1/jobs", json={"kind": "nope.nothing", "input": {}})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_job_kind"
    invalid = await admin.post("/v1/jobs", json={"kind": "audit.prune", "input": {"older_than_days": "soon"}})
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["older_than_days"]
    assert "input.older_than_days" in error["message"]
    assert (await client.get("/v1/jobs")).status_code == 401


async def test_audit_prune_deletes_old_events(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with transaction(app.state.sessionmaker) as db:
        account = (await db.execute(select(Account).where(Account.kind == "personal"))).scalars().first()
        assert account is not None
        old = AuditEvent(account_id=account.id, actor_type="system", action="old.thing", status="success")
        old.created_at = utcnow() - timedelta(days=40)
        db.add(old)
    job = await create(admin, "audit.prune", {"older_than_days": 30})
    assert job["status"] == "queued" and job["attempts"] == 0
    done = await wait_for_status(admin, job["id"])
    assert done["status"] == "succeeded"
    assert done["result"]["deleted"] == 1
    assert done["attempts"] == 1 and done["finished_at"] is not None
    actions = [e["action"] for e in (await admin.get("/v1/audit/events")).json()["items"]]
    assert "old.thing" not in actions
    assert "job.create" in actions


async def test_idempotency_key_returns_the_first_job(admin: httpx.AsyncClient) -> None:
    first = await create(admin, "test.sleep", {"seconds": 0}, idempotency_key="nightly-1")
    again = await create(admin, "test.sleep", {"seconds": 5}, idempotency_key="nightly-1")
    assert again["id"] == first["id"]
    assert again["input"] == {"seconds": 0.0}
    listed = (await admin.get("/v1/jobs", params={"kind": "test.sleep"})).json()["items"]
    assert len(listed) == 1


async def test_failing_job_is_retried_with_backoff_until_it_succeeds(admin: httpx.AsyncClient) -> None:
    label = uuid.uuid4().hex
    job = await create(admin, "test.flaky", {"label": label})
    done = await wait_for_status(admin, job["id"])
    assert done["status"] == "succeeded"
    assert done["attempts"] == 3
    assert done["result"] == {"label": label, "attempt": 3}
    assert jobs_kinds.flaky_calls[label] == 3


async def test_exhausted_job_fails_and_can_be_retried(admin: httpx.AsyncClient) -> None:
    job = await create(admin, "test.broken", {"label": "widget"})
    failed = await wait_for_status(admin, job["id"])
    assert failed["status"] == "failed"
    assert failed["attempts"] == 2
    assert failed["error"] == "ValueError: widget is broken"
    assert (await admin.get("/v1/jobs", params={"status": "failed"})).json()["items"][0]["id"] == job["id"]
    retried = await admin.post(f"/v1/jobs/{job['id']}/retry")
    assert retried.status_code == 200
    assert retried.json()["status"] in ("queued", "running")
    again = await wait_for_status(admin, job["id"])
    assert again["status"] == "failed" and again["attempts"] == 2
    actions = [e["action"] for e in (await admin.get("/v1/audit/events")).json()["items"]]
    assert "job.retry" in actions


async def test_timeout_fails_the_job(admin: httpx.AsyncClient) -> None:
    job = await create(admin, "test.sleep", {"seconds": 30})
    done = await wait_for_status(admin, job["id"])
    assert done["status"] == "failed"
    assert done["error"] == "timeout"


async def test_cancel_queued_running_and_finished_jobs(admin: httpx.AsyncClient) -> None:
    later = (utcnow() + timedelta(hours=1)).isoformat()
    queued = await create(admin, "test.sleep", {"seconds": 0}, run_at=later)
    canceled = await admin.post(f"/v1/jobs/{queued['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"

    running = await create(admin, "test.wait", {"seconds": 30})
    await wait_for_status(admin, running["id"], ("running",))
    requested = await admin.post(f"/v1/jobs/{running['id']}/cancel")
    assert requested.status_code == 200
    assert requested.json()["cancel_requested"] is True
    done = await wait_for_status(admin, running["id"])
    assert done["status"] == "canceled"
    assert done["result"] is None

    refused = await admin.post(f"/v1/jobs/{running['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "job_state_conflict"
    assert (await admin.post(f"/v1/jobs/{uuid.uuid4()}/cancel")).status_code == 404


async def test_another_accounts_job_is_not_found(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with transaction(app.state.sessionmaker) as db:
        other = Account(name=f"other-{uuid.uuid4().hex[:6]}", kind="organization")
        db.add(other)
        await db.flush()
        job = await service.enqueue(
            db,
            account_id=other.id,
            kind="test.sleep",
            input={"seconds": 0},
            run_at=utcnow() + timedelta(days=1),
        )
    assert (await admin.get(f"/v1/jobs/{job.id}")).status_code == 404
    assert (await admin.post(f"/v1/jobs/{job.id}/cancel")).status_code == 404
    assert all(j["id"] != str(job.id) for j in (await admin.get("/v1/jobs")).json()["items"])


async def test_enqueue_belongs_to_the_callers_transaction(app: FastAPI) -> None:
    async with transaction(app.state.sessionmaker) as db:
        account = (await db.execute(select(Account))).scalars().first()
        assert account is not None
        account_id = account.id
    maker = app.state.sessionmaker
    async with maker() as db:
        job = await service.enqueue(db, account_id=account_id, kind="test.sleep", input={"seconds": 0})
        await db.rollback()
    async with maker() as db:
        assert await db.get(Job, job.id) is None


async def test_kind_scope_is_required_to_enqueue(admin: httpx.AsyncClient, app: FastAPI) -> None:
    created = await admin.post("/v1/keys", json={"name": "narrow", "scopes": ["sessions.read"]})
    assert created.status_code == 201, created.text
    narrow = {"Authorization": f"Bearer {created.json()['key']}"}
    refused = await admin.post(
        "/v1/jobs", json={"kind": "audit.prune", "input": {"older_than_days": 5}}, headers=narrow
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    allowed = await admin.post(
        "/v1/jobs", json={"kind": "test.sleep", "input": {"seconds": 0}}, headers=narrow
    )
    assert allowed.status_code == 201


async def test_job_state_changes_are_published(app: FastAPI, admin: httpx.AsyncClient) -> None:
    async with app.state.events.subscribe("job.*") as events:
        job = await create(admin, "test.sleep", {"seconds": 0})
        seen: list[str] = []
        while "succeeded" not in seen:
            event = await events.get(timeout=20)
            assert event.topic == "job.updated"
            if event.payload["id"] == job["id"]:
                seen.append(event.payload["status"])
    assert seen == ["queued", "running", "succeeded"]


async def test_running_job_of_a_lost_worker_is_run_again(
    app: FastAPI, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "RECOVERY_EVERY_S", 0.1)
    async with transaction(app.state.sessionmaker) as db:
        account = (await db.execute(select(Account))).scalars().first()
        assert account is not None
        job = await service.enqueue(
            db, account_id=account.id, kind="audit.prune", input={"older_than_days": 30}
        )
        job.status = "running"
        job.attempts = 1
        job.locked_by = "a-worker-that-died"
        job.locked_until = utcnow() - timedelta(seconds=1)
    done = await wait_for_status(admin, str(job.id))
    assert done["status"] == "succeeded"
    assert done["attempts"] == 2


async def test_concurrent_requests_with_one_idempotency_key_make_one_job(admin: httpx.AsyncClient) -> None:
    body = {"kind": "test.sleep", "input": {"seconds": 0}, "idempotency_key": "burst"}
    responses = await asyncio.gather(*(admin.post("/v1/jobs", json=body) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len((await admin.get("/v1/jobs", params={"kind": "test.sleep"})).json()["items"]) == 1


async def test_cancel_requested_elsewhere_reaches_the_worker(app: FastAPI, admin: httpx.AsyncClient) -> None:
    """A cancel recorded by another process (only the row changes) stops the handler too."""
    job = await create(admin, "test.wait", {"seconds": 30})
    await wait_for_status(admin, job["id"], ("running",))
    async with transaction(app.state.sessionmaker) as db:
        row = await db.get(Job, uuid.UUID(job["id"]))
        assert row is not None
        row.cancel_requested = True
    done = await wait_for_status(admin, job["id"])
    assert done["status"] == "canceled"
    assert done["result"] is None


async def test_retry_keeps_a_later_run_at_and_created_by_has_one_format(admin: httpx.AsyncClient) -> None:
    later = utcnow() + timedelta(hours=1)
    queued = await create(admin, "test.sleep", {"seconds": 0}, run_at=later.isoformat())
    assert (await admin.post(f"/v1/jobs/{queued['id']}/cancel")).json()["status"] == "canceled"
    retried = (await admin.post(f"/v1/jobs/{queued['id']}/retry")).json()
    assert retried["status"] == "queued"
    assert retried["run_at"] == queued["run_at"]  # still not before the time it was given
    imported = await admin.post("/v1/workspaces/import", json={"github_repo": "owner/repo"})
    assert imported.status_code == 202, imported.text
    job = (await admin.get(f"/v1/jobs/{imported.json()['job_id']}")).json()
    assert job["created_by"].split(":")[0] == queued["created_by"].split(":")[0] == "user"

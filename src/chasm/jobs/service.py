"""The jobs facade: `enqueue` for every domain, and the operations behind /v1/jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.jobs import registry, runtime
from chasm.jobs import repository as repo
from chasm.jobs.exceptions import (
    JobInputInvalid,
    JobNotFound,
    JobScopeMissing,
    JobStateConflict,
    UnknownJobKind,
)
from chasm.jobs.schemas import JobCreate, JobKindOut, JobOut
from chasm.jobs.sealing import seal_input, shown_input
from chasm.kit.errors import Forbidden
from chasm.kit.events import EventBus
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import aware, utcnow
from chasm.models import Job
from chasm.webhooks.outbox import emit

JOB_UPDATED = "job.updated"
_publishing: set[asyncio.Task[None]] = set()  # publications scheduled after commit, kept alive


def event_payload(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "account_id": str(job.account_id),
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "error": job.error,
    }


OUTCOME_STATUSES = ("succeeded", "failed", "canceled")


async def emit_outcome(db: AsyncSession, job_id: uuid.UUID) -> None:
    """The job.succeeded|failed|canceled webhook event, in the transaction that ended the job."""
    job = await repo.get_any(db, job_id)
    if job is not None and job.status in OUTCOME_STATUSES:
        await emit(db, job.account_id, f"job.{job.status}", event_payload(job))


def _publish_after_commit(db: AsyncSession, bus: EventBus | None, job: Job) -> None:
    if bus is None:
        return
    payload = event_payload(job)

    def publish() -> None:
        task = asyncio.get_running_loop().create_task(bus.publish(JOB_UPDATED, payload))
        _publishing.add(task)
        task.add_done_callback(_publishing.discard)

    runtime.after_commit(db, publish)


def _validated_input(kind: registry.JobKind, data: dict[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    try:
        return kind.input_model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        details = [
            {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
        raise JobInputInvalid(kind.name, details) from exc


async def enqueue(
    db: AsyncSession,
    *,
    account_id: uuid.UUID,
    kind: str,
    input: dict[str, Any] | BaseModel,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    created_by: str | None = None,
    secret_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction: it exists (and workers wake) only once that commits.

    A second call with the same `idempotency_key` in the account returns the first job. The
    kind's secret fields are sealed with `secret_key` (needed when the input holds any).
    """
    job_kind = registry.get_kind(kind)
    if job_kind is None:
        raise UnknownJobKind(kind)
    if idempotency_key is not None:
        existing = await repo.by_idempotency_key(db, account_id, idempotency_key)
        if existing is not None:
            return existing
    now = utcnow()
    job = Job(
        id=uuid.uuid4(),
        account_id=account_id,
        kind=kind,
        input=seal_input(secret_key, job_kind.sealed, _validated_input(job_kind, input)),
        status="queued",
        attempts=0,
        max_attempts=job_kind.max_attempts,
        timeout_s=job_kind.timeout_s,
        run_at=aware(run_at) or now,
        idempotency_key=idempotency_key,
        cancel_requested=False,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    if idempotency_key is None:
        db.add(job)
        await db.flush()
    else:
        try:
            async with db.begin_nested():  # a concurrent twice-sent request may win the key
                db.add(job)
        except IntegrityError:
            existing = await repo.by_idempotency_key(db, account_id, idempotency_key)
            if existing is None:
                raise
            return existing
    runtime.after_commit(db, runtime.wake_workers)
    return job


def principal_of(actor: Actor) -> str:
    """A job's `created_by`: `<principal type>:<id>` (user, service_account, job), everywhere."""
    return f"{actor.principal_type}:{actor.principal_id}"


def job_out(job: Job) -> JobOut:
    out = JobOut.model_validate(job, from_attributes=True)
    out.input = shown_input(out.input)
    return out


def _authorize(actor: Actor, kind: registry.JobKind, action: str) -> None:
    """Cancelling or retrying a job takes what enqueueing its kind takes: a retry runs the kind again."""
    if not actor.has_scope(kind.scope):
        raise JobScopeMissing(kind.name, kind.scope, action)
    if kind.instance_admin and not actor.instance_admin:
        raise Forbidden(
            f"Only an instance administrator may {action} '{kind.name}' jobs", code="instance_admin_required"
        )
    if kind.account_admin and not (actor.instance_admin or actor.role in ("owner", "admin")):
        raise Forbidden(f"Only an owner or admin of the account may {action} '{kind.name}' jobs")


def _kind_of(job: Job) -> registry.JobKind:
    kind = registry.get_kind(job.kind)
    if kind is None:
        raise UnknownJobKind(job.kind)
    return kind


async def create_job(
    db: AsyncSession, actor: Actor, body: JobCreate, bus: EventBus | None, secret_key: str
) -> JobOut:
    kind = registry.get_kind(body.kind)
    if kind is None or not kind.http_enqueue:
        raise UnknownJobKind(body.kind)
    _authorize(actor, kind, "enqueue")
    if body.idempotency_key is not None:
        existing = await repo.by_idempotency_key(db, actor.account_id, body.idempotency_key)
        if existing is not None:
            return job_out(existing)
    job = await enqueue(
        db,
        account_id=actor.account_id,
        kind=body.kind,
        input=body.input,
        run_at=body.run_at,
        idempotency_key=body.idempotency_key,
        created_by=principal_of(actor),
        secret_key=secret_key,
    )
    record(
        db,
        actor,
        "job.create",
        "job",
        job.id,
        summary=f"Enqueued {job.kind}",
        metadata={"kind": job.kind},
    )
    _publish_after_commit(db, bus, job)
    return job_out(job)


async def list_jobs(
    db: AsyncSession, actor: Actor, paging: PageParams, *, status: str | None, kind: str | None
) -> Page[JobOut]:
    jobs, total = await repo.list_jobs(db, actor.account_id, paging, status=status, kind=kind)
    return paging.page([job_out(job) for job in jobs], total)


async def get_job(db: AsyncSession, actor: Actor, job_id: uuid.UUID) -> JobOut:
    job = await repo.get(db, actor.account_id, job_id)
    if job is None:
        raise JobNotFound()
    return job_out(job)


def list_kinds(paging: PageParams) -> Page[JobKindOut]:
    return paging.window(
        [
            JobKindOut(
                kind=kind.name,
                description=kind.description,
                input_schema=kind.input_model.model_json_schema(),
                timeout_s=kind.timeout_s,
                max_attempts=kind.max_attempts,
                scope=kind.scope,
                instance_admin=kind.instance_admin,
                account_admin=kind.account_admin,
            )
            for kind in registry.all_kinds()
            if kind.http_enqueue
        ]
    )


async def cancel_job(db: AsyncSession, actor: Actor, job_id: uuid.UUID, bus: EventBus | None) -> JobOut:
    """Queued jobs are canceled at once; a running job's handler is asked to stop (it is cancelled)."""
    job = await repo.get(db, actor.account_id, job_id)
    if job is None:
        raise JobNotFound()
    _authorize(actor, _kind_of(job), "cancel")
    now = utcnow()
    if job.status == "queued":
        job.status = "canceled"
        job.error = "canceled"
        job.finished_at = now
    elif job.status == "running":
        job.cancel_requested = True

        def cancel_here() -> None:
            runtime.cancel_local(job_id)

        runtime.after_commit(db, cancel_here)
    else:
        raise JobStateConflict(f"A {job.status} job cannot be canceled")
    job.updated_at = now
    record(db, actor, "job.cancel", "job", job.id, summary=f"Canceled {job.kind}")
    await db.flush()
    if job.status == "canceled":
        await emit_outcome(db, job.id)
    _publish_after_commit(db, bus, job)
    return job_out(job)


async def retry_job(db: AsyncSession, actor: Actor, job_id: uuid.UUID, bus: EventBus | None) -> JobOut:
    """A failed or canceled job goes back to the queue with a fresh set of attempts."""
    job = await repo.get(db, actor.account_id, job_id)
    if job is None:
        raise JobNotFound()
    _authorize(actor, _kind_of(job), "retry")
    if job.status not in ("failed", "canceled"):
        raise JobStateConflict(f"Only failed or canceled jobs can be retried; this one is {job.status}")
    now = utcnow()
    job.status = "queued"
    job.attempts = 0
    job.run_at = max(aware(job.run_at) or now, now)  # a job meant for later still waits for its time
    job.error = None
    job.result = None
    job.cancel_requested = False
    job.started_at = None
    job.finished_at = None
    job.updated_at = now
    record(db, actor, "job.retry", "job", job.id, summary=f"Retried {job.kind}")
    await db.flush()
    runtime.after_commit(db, runtime.wake_workers)
    _publish_after_commit(db, bus, job)
    return job_out(job)

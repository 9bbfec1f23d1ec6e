"""/v1/jobs: enqueue, list, inspect, cancel and retry background jobs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from chasm.auth.deps import CurrentActor, SecretKey
from chasm.auth.ratelimit import rate_limited
from chasm.jobs import service
from chasm.jobs.schemas import JobCreate, JobKindOut, JobOut, JobStatus
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.events import EventBus
from chasm.kit.pagination import Page

router = APIRouter(prefix="/v1/jobs", tags=[Tag.JOBS])


async def get_bus(request: Request) -> EventBus | None:
    return getattr(request.app.state, "events", None)


Events = Annotated[EventBus | None, Depends(get_bus)]
LIMITED = [Depends(rate_limited("jobs"))]


@router.post("", status_code=201, dependencies=LIMITED)
async def create_job(
    body: JobCreate, actor: CurrentActor, db: DbSession, bus: Events, secret: SecretKey
) -> JobOut:
    """Enqueue a job; the same idempotency key returns the job created first."""
    return await service.create_job(db, actor, body, bus, secret)


@router.get("")
async def list_jobs(
    actor: CurrentActor,
    db: DbSession,
    paging: Paging,
    status: JobStatus | None = None,
    kind: str | None = None,
) -> Page[JobOut]:
    """Jobs of the active account, newest first."""
    return await service.list_jobs(db, actor, paging, status=status, kind=kind)


@router.get("/kinds")
async def list_kinds(actor: CurrentActor, paging: Paging) -> Page[JobKindOut]:
    """The job kinds this server runs, each with the JSON Schema of its input."""
    return service.list_kinds(paging)


@router.get("/{job_id}")
async def get_job(job_id: uuid.UUID, actor: CurrentActor, db: DbSession) -> JobOut:
    """One job with its status, attempts, result or error."""
    return await service.get_job(db, actor, job_id)


@router.post("/{job_id}/cancel", dependencies=LIMITED)
async def cancel_job(job_id: uuid.UUID, actor: CurrentActor, db: DbSession, bus: Events) -> JobOut:
    """Cancel a queued job, or ask a running one to stop."""
    return await service.cancel_job(db, actor, job_id, bus)


@router.post("/{job_id}/retry", dependencies=LIMITED)
async def retry_job(job_id: uuid.UUID, actor: CurrentActor, db: DbSession, bus: Events) -> JobOut:
    """Queue a failed or canceled job again."""
    return await service.retry_job(db, actor, job_id, bus)

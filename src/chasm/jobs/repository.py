"""SQL of the jobs engine. Every state change a worker makes is a conditional UPDATE on the row's
status (and lock owner), so two workers can never both win the same job on any database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import AuditEvent, Job


async def get(db: AsyncSession, account_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
    result = await db.execute(select(Job).where(Job.id == job_id, Job.account_id == account_id))
    return result.scalar_one_or_none()


async def get_any(db: AsyncSession, job_id: uuid.UUID) -> Job | None:
    return await db.get(Job, job_id, populate_existing=True)


async def by_idempotency_key(db: AsyncSession, account_id: uuid.UUID, key: str) -> Job | None:
    result = await db.execute(select(Job).where(Job.account_id == account_id, Job.idempotency_key == key))
    return result.scalar_one_or_none()


async def list_jobs(
    db: AsyncSession,
    account_id: uuid.UUID,
    paging: PageParams,
    *,
    status: str | None,
    kind: str | None,
) -> tuple[Sequence[Job], int]:
    query = select(Job).where(Job.account_id == account_id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return await pagination.fetch(db, query.order_by(Job.created_at.desc(), Job.id.desc()), paging)


async def due_job_ids(db: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    query = (
        select(Job.id)
        .where(Job.status == "queued", Job.run_at <= now)
        .order_by(Job.run_at, Job.created_at)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars().all())


async def next_run_at(db: AsyncSession) -> datetime | None:
    query = select(Job.run_at).where(Job.status == "queued").order_by(Job.run_at).limit(1)
    return (await db.execute(query)).scalar_one_or_none()


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def claim(
    db: AsyncSession, job_id: uuid.UUID, worker: str, now: datetime, lease_until: datetime
) -> bool:
    """Take a queued, due job; only one of several concurrent callers sees True."""
    result = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued", Job.run_at <= now)
        .values(
            status="running",
            locked_by=worker,
            locked_until=lease_until,
            attempts=Job.attempts + 1,
            started_at=now,
            updated_at=now,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def heartbeat(db: AsyncSession, job_id: uuid.UUID, worker: str, lease_until: datetime) -> bool | None:
    """Extend the lease; answers whether cancellation was requested, or None if the lock was lost."""
    result = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
        .values(locked_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return None
    requested = await db.execute(select(Job.cancel_requested).where(Job.id == job_id))
    return bool(requested.scalar_one())


async def finish(db: AsyncSession, job_id: uuid.UUID, worker: str, **values: Any) -> bool:
    """Leave `running` (to any status) if this worker still holds the job's lock."""
    result = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
        .values(locked_by=None, locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def expired_running(db: AsyncSession, now: datetime, host_prefix: str | None = None) -> Sequence[Job]:
    """Running jobs whose lease ran out, and (with `host_prefix`) every running job of a worker on
    this host, for the caller to check whether that worker's process is still alive."""
    stale = Job.locked_until < now
    if host_prefix is not None:
        stale = stale | Job.locked_by.startswith(host_prefix, autoescape=True)
    query = select(Job).where(Job.status == "running", stale).limit(100)
    return (await db.execute(query)).scalars().all()


async def release_expired(
    db: AsyncSession, job: Job, now: datetime, *, worker_dead: bool = False, **values: Any
) -> bool:
    """Take a job back from a worker whose lease ran out (it stopped or lost the database), or
    whose process is known to be gone (`worker_dead`: a worker of this host)."""
    conditions = [Job.id == job.id, Job.status == "running", Job.locked_by == job.locked_by]
    if not worker_dead:
        conditions.append(Job.locked_until < now)
    result = await db.execute(
        update(Job)
        .where(*conditions)
        .values(locked_by=None, locked_until=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def delete_audit_events_before(db: AsyncSession, account_id: uuid.UUID, before: datetime) -> int:
    result = await db.execute(
        delete(AuditEvent)
        .where(AuditEvent.account_id == account_id, AuditEvent.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)

"""Admission of a new sandbox: the plan's quotas, checked before anything starts.

Counts come from the database (live sessions, sessions created in the last minute), so they hold
across restarts and processes. A session's row is committed only with its request, so sessions
this process is still starting are *claimed* in memory until their request's transaction ends,
and a per-account lock makes check-and-claim one step (both kept by `chasm.sandbox.admission`):
30 concurrent creates of one account get exactly the plan's number. On PostgreSQL a
transaction-level advisory lock per account also orders creates of several server processes
(held until the creating request commits).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts.quotas import PlanQuota, QuotaExceeded, is_instance_admin, quota_for
from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.kit.timeutil import utcnow
from chasm.sandbox.admission import Admission, Claim
from chasm.sessions import repository as repo

RATE_WINDOW = timedelta(seconds=60)


def _advisory_key(account_id: uuid.UUID) -> int:
    digest = hashlib.sha256(b"chasm-admission:" + account_id.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def admit(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    admission: Admission,
    memory_bytes: int | None,
    *,
    workspace_backed: bool,
) -> None:
    """Refuse a new session over the plan's quotas (403; 429 with Retry-After for the rate), or
    claim it. The instance administrator is not limited."""
    quota = quota_for(settings, actor.account.plan)
    if await is_instance_admin(db, actor):
        return
    if quota.ephemeral_only and workspace_backed:
        raise QuotaExceeded(
            quota, "ephemeral_only", True, "This account's plan allows ephemeral sessions only"
        )
    account_id = actor.account_id
    async with admission.lock(account_id):
        if db.get_bind().dialect.name == "postgresql":
            await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(account_id)})
        now = utcnow()
        live, recent, oldest = await repo.quota_usage(db, account_id, now - RATE_WINDOW)
        pending = admission.pending(account_id)
        _check(quota, live + len(pending), recent + len(pending), oldest, memory_bytes, pending, now)
        admission.claim(db, account_id, memory_bytes or 0)


def _check(
    quota: PlanQuota,
    live: int,
    recent: int,
    oldest: datetime | None,
    memory_bytes: int | None,
    pending: list[Claim],
    now: datetime,
) -> None:
    if quota.live_sessions is not None and live + 1 > quota.live_sessions:
        raise QuotaExceeded(
            quota,
            "live_sessions",
            quota.live_sessions,
            f"This account already has {live} live session(s); terminate one to start another",
        )
    if quota.memory_bytes is not None and memory_bytes:
        # Every session of an account runs under its plan's memory limit.
        total = (live - len(pending)) * memory_bytes + sum(c.memory_bytes for c in pending) + memory_bytes
        if total > quota.memory_bytes:
            raise QuotaExceeded(
                quota,
                "memory_bytes",
                quota.memory_bytes,
                f"Another session of {memory_bytes} bytes of memory would bring this account's live "
                f"sessions to {total} bytes",
            )
    if quota.sessions_per_minute is not None and recent + 1 > quota.sessions_per_minute:
        retry = 1
        if oldest is not None:
            waited = (now - oldest).total_seconds()
            retry = max(1, math.ceil(RATE_WINDOW.total_seconds() - waited))
        raise QuotaExceeded(
            quota,
            "sessions_per_minute",
            quota.sessions_per_minute,
            f"This account started {recent} session(s) in the last minute; retry in {retry} s",
            retry_after=retry,
        )

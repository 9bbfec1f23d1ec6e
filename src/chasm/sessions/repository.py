"""SQL of the sessions domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.kit.timeutil import aware
from chasm.models import SandboxSession

LIVE_STATUSES = ("creating", "running")


async def get(db: AsyncSession, account_id: uuid.UUID, session_id: uuid.UUID) -> SandboxSession | None:
    result = await db.execute(
        select(SandboxSession).where(SandboxSession.account_id == account_id, SandboxSession.id == session_id)
    )
    return result.scalar_one_or_none()


async def get_any(db: AsyncSession, session_id: uuid.UUID) -> SandboxSession | None:
    """By id alone: for the gateway's per-session token and the reaper (no account in scope)."""
    return await db.get(SandboxSession, session_id)


async def live_for_workspace(db: AsyncSession, workspace_id: uuid.UUID) -> SandboxSession | None:
    result = await db.execute(
        select(SandboxSession)
        .where(SandboxSession.workspace_id == workspace_id, SandboxSession.status.in_(LIVE_STATUSES))
        .order_by(SandboxSession.created_at.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def list_for_account(
    db: AsyncSession,
    account_id: uuid.UUID,
    paging: PageParams,
    *,
    status: str | None,
    workspace_id: uuid.UUID | None,
    session_type: str | None,
) -> tuple[Sequence[SandboxSession], int]:
    where = [SandboxSession.account_id == account_id]
    if status is not None:
        where.append(SandboxSession.status == status)
    if workspace_id is not None:
        where.append(SandboxSession.workspace_id == workspace_id)
    if session_type is not None:
        where.append(SandboxSession.session_type == session_type)
    query = select(SandboxSession).where(*where).order_by(SandboxSession.created_at.desc(), SandboxSession.id)
    return await pagination.fetch(db, query, paging)


async def live_ids(db: AsyncSession, account_id: uuid.UUID) -> Sequence[uuid.UUID]:
    result = await db.execute(
        select(SandboxSession.id).where(
            SandboxSession.account_id == account_id, SandboxSession.status.in_(LIVE_STATUSES)
        )
    )
    return result.scalars().all()


async def all_live(db: AsyncSession, node_id: str) -> Sequence[SandboxSession]:
    """Every live session of every account on this node, or on none recorded (server start, the
    reaper, shutdown): other servers sharing the database look after theirs."""
    result = await db.execute(
        select(SandboxSession).where(
            SandboxSession.status.in_(LIVE_STATUSES),
            or_(SandboxSession.node_id == node_id, SandboxSession.node_id.is_(None)),
        )
    )
    return result.scalars().all()


async def quota_usage(
    db: AsyncSession, account_id: uuid.UUID, since: datetime
) -> tuple[int, int, datetime | None]:
    """(live sessions, sessions created since `since`, the oldest of those) of an account."""
    live = await db.execute(
        select(func.count())
        .select_from(SandboxSession)
        .where(SandboxSession.account_id == account_id, SandboxSession.status.in_(LIVE_STATUSES))
    )
    recent = await db.execute(
        select(func.count(), func.min(SandboxSession.created_at)).where(
            SandboxSession.account_id == account_id, SandboxSession.created_at >= since
        )
    )
    count, oldest = recent.one()
    return int(live.scalar_one()), int(count), aware(oldest)

"""Queries of audit events: newest first, paged by offset and by a keyset cursor on (created_at, id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import AuditEvent


@dataclass(frozen=True)
class EventFilter:
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    status: str | None = None


async def get(db: AsyncSession, account_id: uuid.UUID, event_id: uuid.UUID) -> AuditEvent | None:
    result = await db.execute(
        select(AuditEvent).where(AuditEvent.account_id == account_id, AuditEvent.id == event_id)
    )
    return result.scalar_one_or_none()


async def list_events(
    db: AsyncSession,
    account_id: uuid.UUID,
    filters: EventFilter,
    *,
    before_time: datetime | None,
    before_event: AuditEvent | None,
    paging: PageParams,
) -> tuple[Sequence[AuditEvent], int]:
    query = select(AuditEvent).where(AuditEvent.account_id == account_id)
    for column, value in (
        (AuditEvent.action, filters.action),
        (AuditEvent.resource_type, filters.resource_type),
        (AuditEvent.resource_id, filters.resource_id),
        (AuditEvent.status, filters.status),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_time is not None:
        query = query.where(AuditEvent.created_at < before_time)
    if before_event is not None:
        query = query.where(
            or_(
                AuditEvent.created_at < before_event.created_at,
                and_(AuditEvent.created_at == before_event.created_at, AuditEvent.id < before_event.id),
            )
        )
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return await pagination.fetch(db, query, paging)

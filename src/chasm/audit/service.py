"""Writes audit events. Every mutation calls `record` inside its own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit import repository as repo
from chasm.audit.repository import EventFilter
from chasm.audit.schemas import AuditEventOut
from chasm.auth.actor import Actor
from chasm.kit.db import transaction
from chasm.kit.errors import NotFound, ValidationFailed
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import aware
from chasm.models import AuditEvent


def record(
    db: AsyncSession,
    actor: Actor | None,
    action: str,
    resource_type: str | None = None,
    resource_id: object = None,
    *,
    status: str = "success",
    summary: str | None = None,
    metadata: dict[str, Any] | None = None,
    account_id: Any = None,
) -> AuditEvent:
    event = AuditEvent(
        account_id=account_id if account_id is not None else (actor.account_id if actor else None),
        actor_type=actor.principal_type if actor else "system",
        actor_id=str(actor.principal_id) if actor else None,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        status=status,
        summary=summary,
        meta=metadata,
    )
    if actor is not None and actor.api_key_id is not None:
        event.meta = {**(metadata or {}), "api_key_id": str(actor.api_key_id)}
    db.add(event)
    return event


async def record_apart(
    maker: async_sessionmaker[AsyncSession],
    action: str,
    resource_type: str | None = None,
    resource_id: object = None,
    *,
    account_id: Any,
    status: str = "failure",
    summary: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Record an event in its own transaction: for failures whose request rolls back."""
    async with transaction(maker) as db:
        record(
            db,
            None,
            action,
            resource_type,
            resource_id,
            status=status,
            summary=summary,
            metadata=metadata,
            account_id=account_id,
        )


def _out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        action=event.action,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        status=event.status,
        summary=event.summary,
        metadata=event.meta,
        created_at=event.created_at,
    )


def _parse_before(value: str) -> datetime | uuid.UUID:
    event_id = parse_uuid(value)
    if event_id is not None:
        return event_id
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed("before: give an ISO 8601 time or an event id") from exc
    return aware(moment) or moment


async def list_events(
    db: AsyncSession, actor: Actor, filters: EventFilter, before: str | None, paging: PageParams
) -> Page[AuditEventOut]:
    """The active account's events, newest first; `before` is a time or the last event id seen."""
    before_time: datetime | None = None
    before_event: AuditEvent | None = None
    if before:
        cursor = _parse_before(before)
        if isinstance(cursor, uuid.UUID):
            before_event = await repo.get(db, actor.account_id, cursor)
            if before_event is None:
                raise NotFound("No such audit event in this account", code="audit_event_not_found")
        else:
            before_time = cursor
    events, total = await repo.list_events(
        db, actor.account_id, filters, before_time=before_time, before_event=before_event, paging=paging
    )
    return paging.page([_out(e) for e in events], total)

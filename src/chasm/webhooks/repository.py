"""SQL of webhooks: endpoints, the outbox (events, deliveries) and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


async def endpoints_of(db: AsyncSession, account_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.account_id == account_id, WebhookEndpoint.enabled.is_(True)
    )
    return (await db.execute(query)).scalars().all()


async def get_endpoint(
    db: AsyncSession, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.account_id == account_id
    )
    return (await db.execute(query)).scalar_one_or_none()


async def list_endpoints(
    db: AsyncSession, account_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[WebhookEndpoint], int]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == account_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return await pagination.fetch(db, query, paging)


async def list_deliveries(
    db: AsyncSession,
    account_id: uuid.UUID,
    *,
    endpoint_id: uuid.UUID | None,
    event_type: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    paging: PageParams,
) -> tuple[Sequence[tuple[WebhookDelivery, str]], int]:
    query = (
        select(WebhookDelivery, WebhookEvent.public_id)
        .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.account_id == account_id)
    )
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if event_type:
        query = query.where(WebhookDelivery.event_type == event_type)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if since is not None:
        query = query.where(WebhookDelivery.created_at >= since)
    if until is not None:
        query = query.where(WebhookDelivery.created_at < until)
    query = query.order_by(WebhookDelivery.event_seq.desc(), WebhookDelivery.id)
    return await pagination.fetch_rows(db, query, paging)


async def get_delivery(
    db: AsyncSession, account_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEvent] | None:
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.account_id == account_id)
    )
    row = (await db.execute(query)).first()
    return (row[0], row[1]) if row else None


async def attempts_of(db: AsyncSession, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.number)
    )
    return (await db.execute(query)).scalars().all()


async def endpoints_with_due(db: AsyncSession, now: datetime, owner: str) -> list[uuid.UUID]:
    """Enabled endpoints with a pending delivery that is due (their queue may start with one that
    is not: the drain stops there), leased by no other dispatcher than `owner`."""
    query = (
        select(WebhookDelivery.endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
            or_(
                WebhookEndpoint.lease_until.is_(None),
                WebhookEndpoint.lease_until < now,
                WebhookEndpoint.lease_owner == owner,
            ),
        )
        .distinct()
    )
    return list((await db.execute(query)).scalars().all())


async def next_due(db: AsyncSession) -> datetime | None:
    query = (
        select(WebhookDelivery.next_attempt_at)
        .where(WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(1)
    )
    return (await db.execute(query)).scalar_one_or_none()


async def queue_head(
    db: AsyncSession, endpoint_id: uuid.UUID, limit: int, exclude: Collection[uuid.UUID] = ()
) -> Sequence[tuple[WebhookDelivery, WebhookEvent]]:
    """The endpoint's pending deliveries in order, oldest event first (but those in `exclude`)."""
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .order_by(WebhookDelivery.event_seq)
        .limit(limit)
    )
    if exclude:
        query = query.where(WebhookDelivery.id.not_in(list(exclude)))
    return [(d, e) for d, e in (await db.execute(query)).all()]


async def deliveries_by_id(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
    return {d.id: d for d in (await db.execute(query)).scalars().all()}


async def release_pending(db: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> None:
    """Make an endpoint's waiting deliveries due now (it was re-enabled)."""
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


async def claim_endpoint(
    db: AsyncSession, endpoint_id: uuid.UUID, owner: str, now: datetime, until: datetime
) -> bool:
    """Take (or extend) the lease on draining an endpoint's queue, in one atomic UPDATE: True if
    `owner` holds it now (it was free, expired, or `owner`'s already)."""
    result = await db.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
            or_(
                WebhookEndpoint.lease_until.is_(None),
                WebhookEndpoint.lease_until < now,
                WebhookEndpoint.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release_endpoint(db: AsyncSession, endpoint_id: uuid.UUID, owner: str) -> None:
    await db.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def record_successes(db: AsyncSession, attempts: list[dict[str, Any]], now: datetime) -> None:
    """Attempts answered 2xx (rows of `webhook_attempts`): each is kept, and its delivery
    succeeds unless it was discarded while in flight (its outcome is kept all the same)."""
    deliveries: Table = WebhookDelivery.__table__  # type: ignore[assignment]
    await db.execute(insert(WebhookAttempt.__table__), attempts)  # type: ignore[arg-type]
    pending = deliveries.c.status == "pending"
    await db.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("delivery"))
        .values(
            attempts=deliveries.c.attempts + 1,
            last_status_code=bindparam("code"),
            last_error=None,
            updated_at=now,
            status=case((pending, "succeeded"), else_=deliveries.c.status),
            delivered_at=case((pending, now), else_=deliveries.c.delivered_at),
        ),
        [{"delivery": a["delivery_id"], "code": a["status_code"]} for a in attempts],
    )

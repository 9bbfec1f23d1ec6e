"""SQL of billing: usage records, the wallet ledger, session meters, Stripe events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit.pagination import PageParams
from chasm.models import (
    BillingProfile,
    SandboxSession,
    SessionMeter,
    StripeEvent,
    UsageRecord,
    WalletEntry,
    Workspace,
)


async def balance(db: AsyncSession, account_id: uuid.UUID) -> int:
    query = select(func.coalesce(func.sum(WalletEntry.amount_microusd), 0)).where(
        WalletEntry.account_id == account_id
    )
    return int((await db.execute(query)).scalar_one())


async def open_meters(db: AsyncSession, node: str | None) -> Sequence[tuple[SessionMeter, SandboxSession]]:
    """Open meters of the sessions of this node (each node meters its own, so none twice)."""
    mine = or_(SandboxSession.node_id.is_(None), SandboxSession.node_id == (node or ""))
    query = (
        select(SessionMeter, SandboxSession)
        .join(SandboxSession, SandboxSession.id == SessionMeter.session_id)
        .where(SessionMeter.closed.is_(False), mine)
        .order_by(SessionMeter.account_id)
    )
    return [(m, s) for m, s in (await db.execute(query)).all()]


async def list_usage(
    db: AsyncSession,
    account_id: uuid.UUID,
    *,
    kind: str | None,
    session_type: str | None,
    since: datetime | None,
    until: datetime | None,
    paging: PageParams,
) -> tuple[Sequence[UsageRecord], list[tuple[str, str, float, int]]]:
    """A window of the matching records and their totals per kind and unit (whose counts add up
    to the number of all matching records)."""
    conditions = [UsageRecord.account_id == account_id]
    if kind:
        conditions.append(UsageRecord.kind == kind)
    if session_type:
        conditions.append(UsageRecord.session_type == session_type)
    if since is not None:
        conditions.append(UsageRecord.created_at >= since)
    if until is not None:
        conditions.append(UsageRecord.created_at < until)
    rows = (
        (
            await db.execute(
                select(UsageRecord)
                .where(*conditions)
                .order_by(UsageRecord.created_at.desc(), UsageRecord.id)
                .limit(paging.limit)
                .offset(paging.offset)
            )
        )
        .scalars()
        .all()
    )
    totals = await db.execute(
        select(UsageRecord.kind, UsageRecord.unit, func.sum(UsageRecord.quantity), func.count())
        .where(*conditions)
        .group_by(UsageRecord.kind, UsageRecord.unit)
    )
    return rows, [(k, u, float(q or 0), int(n)) for k, u, q, n in totals.all()]


async def usage_since(db: AsyncSession, account_id: uuid.UUID, since: datetime) -> dict[str, float]:
    """Summed quantities per kind since a time (storage samples excluded: they are levels)."""
    query = (
        select(UsageRecord.kind, func.sum(UsageRecord.quantity))
        .where(
            UsageRecord.account_id == account_id,
            UsageRecord.created_at >= since,
            UsageRecord.kind != "storage_bytes",
        )
        .group_by(UsageRecord.kind)
    )
    return {k: float(q or 0) for k, q in (await db.execute(query)).all()}


async def spent_since(db: AsyncSession, account_id: uuid.UUID, since: datetime) -> int:
    query = select(func.coalesce(func.sum(WalletEntry.amount_microusd), 0)).where(
        WalletEntry.account_id == account_id, WalletEntry.created_at >= since, WalletEntry.amount_microusd < 0
    )
    return -int((await db.execute(query)).scalar_one())


async def storage(db: AsyncSession, account_id: uuid.UUID) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(Workspace.size_bytes), 0)).where(
        Workspace.account_id == account_id
    )
    count, total = (await db.execute(query)).one()
    return int(count), int(total)


async def ready_workspaces(db: AsyncSession) -> Sequence[Workspace]:
    return (await db.execute(select(Workspace).where(Workspace.status == "ready"))).scalars().all()


async def stripe_event_seen(db: AsyncSession, event_id: str) -> bool:
    return (await db.get(StripeEvent, event_id)) is not None


async def entry_by_reference(db: AsyncSession, reference: str) -> WalletEntry | None:
    query = select(WalletEntry).where(WalletEntry.reference == reference)
    return (await db.execute(query)).scalar_one_or_none()


async def profile_by_subscription(db: AsyncSession, subscription_id: str) -> BillingProfile | None:
    query = select(BillingProfile).where(BillingProfile.stripe_subscription_id == subscription_id)
    return (await db.execute(query)).scalars().first()


async def profile_by_customer(db: AsyncSession, customer_id: str) -> BillingProfile | None:
    query = select(BillingProfile).where(BillingProfile.stripe_customer_id == customer_id)
    return (await db.execute(query)).scalars().first()

"""Queries of accounts, memberships and service accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Account, Membership, ServiceAccount, User


async def organization_named(session: AsyncSession, name: str) -> Account | None:
    result = await session.execute(
        select(Account).where(Account.kind == "organization", func.lower(Account.name) == name.lower())
    )
    return result.scalars().first()


async def members(session: AsyncSession, account_id: uuid.UUID) -> list[tuple[Membership, User]]:
    result = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.account_id == account_id)
        .order_by(Membership.created_at, User.email)
    )
    return [(m, u) for m, u in result.all()]


async def member_with_user(
    session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User] | None:
    result = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.account_id == account_id, Membership.user_id == user_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def owner_count(session: AsyncSession, account_id: uuid.UUID) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Membership)
        .where(Membership.account_id == account_id, Membership.role == "owner")
    )
    return int(result.scalar_one())


async def service_accounts(session: AsyncSession, account_id: uuid.UUID) -> list[ServiceAccount]:
    result = await session.execute(
        select(ServiceAccount)
        .where(ServiceAccount.account_id == account_id)
        .order_by(ServiceAccount.created_at, ServiceAccount.name)
    )
    return list(result.scalars())


async def service_account(
    session: AsyncSession, account_id: uuid.UUID, sa_id: uuid.UUID
) -> ServiceAccount | None:
    result = await session.execute(
        select(ServiceAccount).where(ServiceAccount.account_id == account_id, ServiceAccount.id == sa_id)
    )
    return result.scalar_one_or_none()

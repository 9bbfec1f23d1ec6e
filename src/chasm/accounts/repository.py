"""Queries of accounts, memberships and service accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import Account, Membership, ServiceAccount, User


async def organization_named(db: AsyncSession, name: str) -> Account | None:
    result = await db.execute(
        select(Account).where(Account.kind == "organization", func.lower(Account.name) == name.lower())
    )
    return result.scalars().first()


async def members(
    db: AsyncSession, account_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[tuple[Membership, User]], int]:
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.account_id == account_id)
        .order_by(Membership.created_at, User.email, User.id)
    )
    return await pagination.fetch_rows(db, query, paging)


async def member_with_user(
    db: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User] | None:
    result = await db.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.account_id == account_id, Membership.user_id == user_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def owner_count(db: AsyncSession, account_id: uuid.UUID) -> int:
    result = await db.execute(
        select(func.count())
        .select_from(Membership)
        .where(Membership.account_id == account_id, Membership.role == "owner")
    )
    return int(result.scalar_one())


async def service_accounts(
    db: AsyncSession, account_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[ServiceAccount], int]:
    query = (
        select(ServiceAccount)
        .where(ServiceAccount.account_id == account_id)
        .order_by(ServiceAccount.created_at, ServiceAccount.name, ServiceAccount.id)
    )
    return await pagination.fetch(db, query, paging)


async def service_account(db: AsyncSession, account_id: uuid.UUID, sa_id: uuid.UUID) -> ServiceAccount | None:
    result = await db.execute(
        select(ServiceAccount).where(ServiceAccount.account_id == account_id, ServiceAccount.id == sa_id)
    )
    return result.scalar_one_or_none()


async def owned_organizations(db: AsyncSession, user_id: uuid.UUID) -> int:
    result = await db.execute(
        select(func.count())
        .select_from(Membership)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.user_id == user_id, Membership.role == "owner", Account.kind == "organization")
    )
    return int(result.scalar_one())


async def personal_plan(db: AsyncSession, user_id: uuid.UUID) -> str | None:
    result = await db.execute(
        select(Account.plan)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user_id, Account.kind == "personal")
    )
    return result.scalars().first()

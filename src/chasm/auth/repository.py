"""Queries behind authentication: keys by hash, users, accounts and memberships."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Account, ApiKey, Membership, ServiceAccount, User


async def key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result = await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
    return result.scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.strip().lower()))
    return result.scalar_one_or_none()


async def get_service_account(session: AsyncSession, sa_id: uuid.UUID) -> ServiceAccount | None:
    return await session.get(ServiceAccount, sa_id)


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def personal_account(session: AsyncSession, user_id: uuid.UUID) -> Account | None:
    result = await session.execute(select(Account).where(Account.personal_user_id == user_id))
    return result.scalar_one_or_none()


async def membership(session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
    result = await session.execute(
        select(Membership).where(Membership.account_id == account_id, Membership.user_id == user_id)
    )
    return result.scalar_one_or_none()


async def member_accounts_named(session: AsyncSession, user_id: uuid.UUID, name: str) -> list[Account]:
    result = await session.execute(
        select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user_id, Account.name == name)
    )
    return list(result.scalars())


async def first_owner(session: AsyncSession) -> User | None:
    result = await session.execute(select(User).order_by(User.created_at).limit(1))
    return result.scalar_one_or_none()

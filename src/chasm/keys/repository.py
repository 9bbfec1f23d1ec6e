"""Queries of API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import ApiKey


async def get_for_account(session: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    result = await session.execute(select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == key_id))
    return result.scalar_one_or_none()


async def for_account(
    session: AsyncSession, account_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> list[ApiKey]:
    """User keys of the account (every user's, or one user's)."""
    query = select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.service_account_id.is_(None))
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    result = await session.execute(query.order_by(ApiKey.created_at.desc(), ApiKey.id))
    return list(result.scalars())


async def for_service_account(session: AsyncSession, sa_id: uuid.UUID) -> list[ApiKey]:
    result = await session.execute(
        select(ApiKey).where(ApiKey.service_account_id == sa_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(result.scalars())


async def revoke_for_service_account(session: AsyncSession, sa_id: uuid.UUID, when: datetime) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.service_account_id == sa_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=when)
    )


async def for_user(session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> list[ApiKey]:
    return await for_account(session, account_id, user_id=user_id)

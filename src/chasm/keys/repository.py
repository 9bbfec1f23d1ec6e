"""Queries of API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import ApiKey


async def get_for_account(db: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    result = await db.execute(select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == key_id))
    return result.scalar_one_or_none()


def of_account(account_id: uuid.UUID, *, user_id: uuid.UUID | None = None) -> Select[ApiKey]:
    """User keys of the account (every user's, or one user's), newest first."""
    query = select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.service_account_id.is_(None))
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return query.order_by(ApiKey.created_at.desc(), ApiKey.id)


def of_service_account(sa_id: uuid.UUID) -> Select[ApiKey]:
    return (
        select(ApiKey).where(ApiKey.service_account_id == sa_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
    )


async def page(db: AsyncSession, query: Select[ApiKey], paging: PageParams) -> tuple[Sequence[ApiKey], int]:
    return await pagination.fetch(db, query, paging)


async def revoke_for_service_account(db: AsyncSession, sa_id: uuid.UUID, when: datetime) -> None:
    await db.execute(
        update(ApiKey)
        .where(ApiKey.service_account_id == sa_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=when)
    )

"""Queries of SSH keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import SshKey


async def for_account(
    db: AsyncSession, account_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[SshKey], int]:
    query = select(SshKey).where(SshKey.account_id == account_id).order_by(SshKey.created_at, SshKey.id)
    return await pagination.fetch(db, query, paging)


async def get(db: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID) -> SshKey | None:
    result = await db.execute(select(SshKey).where(SshKey.account_id == account_id, SshKey.id == key_id))
    return result.scalar_one_or_none()


async def by_fingerprint(db: AsyncSession, account_id: uuid.UUID, fingerprint: str) -> SshKey | None:
    result = await db.execute(
        select(SshKey).where(SshKey.account_id == account_id, SshKey.fingerprint == fingerprint)
    )
    return result.scalar_one_or_none()

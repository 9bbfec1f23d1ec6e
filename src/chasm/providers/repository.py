"""SQL of the providers domain (every query scoped to one account)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import ModelProvider


async def list_providers(db: AsyncSession, account_id: uuid.UUID) -> Sequence[ModelProvider]:
    query = select(ModelProvider).where(ModelProvider.account_id == account_id)
    return (await db.scalars(query.order_by(ModelProvider.created_at, ModelProvider.name))).all()


async def get(db: AsyncSession, account_id: uuid.UUID, provider_id: uuid.UUID) -> ModelProvider | None:
    return await db.scalar(
        select(ModelProvider).where(ModelProvider.account_id == account_id, ModelProvider.id == provider_id)
    )


async def by_name(db: AsyncSession, account_id: uuid.UUID, name: str) -> ModelProvider | None:
    return await db.scalar(
        select(ModelProvider).where(
            ModelProvider.account_id == account_id, func.lower(ModelProvider.name) == name.lower()
        )
    )


async def default(db: AsyncSession, account_id: uuid.UUID) -> ModelProvider | None:
    """The provider marked default, else the account's only provider."""
    marked = await db.scalar(
        select(ModelProvider).where(
            ModelProvider.account_id == account_id, ModelProvider.is_default.is_(True)
        )
    )
    if marked is not None:
        return marked
    rows = (
        await db.scalars(select(ModelProvider).where(ModelProvider.account_id == account_id).limit(2))
    ).all()
    return rows[0] if len(rows) == 1 else None


async def count(db: AsyncSession, account_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(ModelProvider).where(ModelProvider.account_id == account_id)
    return int(await db.scalar(query) or 0)


async def clear_default(db: AsyncSession, account_id: uuid.UUID, keep: uuid.UUID | None = None) -> None:
    query = update(ModelProvider).where(
        ModelProvider.account_id == account_id, ModelProvider.is_default.is_(True)
    )
    if keep is not None:
        query = query.where(ModelProvider.id != keep)
    await db.execute(query.values(is_default=False).execution_options(synchronize_session="fetch"))

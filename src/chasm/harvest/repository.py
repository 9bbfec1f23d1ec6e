"""SQL of the harvest use cases (the harvest's own writes are in `store.py` and `store_units.py`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatSettings, HarvestFile, Job


async def settings_data(db: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    row = await db.get(ChatSettings, account_id)
    return dict(row.data) if row is not None and row.data else {}


async def chat_counts(db: AsyncSession, account_id: uuid.UUID) -> dict[str, int]:
    rows = await db.execute(
        select(Chat.provider, func.count()).where(Chat.account_id == account_id).group_by(Chat.provider)
    )
    return {provider: count for provider, count in rows}


async def file_summary(db: AsyncSession, account_id: uuid.UUID) -> list[tuple[str, int, Any, int]]:
    """(provider, units, last harvested, missing units) per provider."""
    rows = await db.execute(
        select(
            HarvestFile.provider,
            func.count(),
            func.max(HarvestFile.harvested_at),
            func.sum(case((HarvestFile.missing.is_(True), 1), else_=0)),
        )
        .where(HarvestFile.account_id == account_id)
        .group_by(HarvestFile.provider)
    )
    return [(p, n, last, int(missing or 0)) for p, n, last, missing in rows]


async def units_of_workspaces(
    db: AsyncSession, account_id: uuid.UUID, workspace_ids: list[uuid.UUID]
) -> dict[str, set[str]]:
    """provider -> keys of the units whose chats belong to these workspaces."""
    rows = await db.execute(
        select(Chat.provider, Chat.source_id).where(
            Chat.account_id == account_id, Chat.workspace_id.in_(workspace_ids)
        )
    )
    wanted: dict[str, set[str]] = {}
    for provider, source_id in rows:
        wanted.setdefault(provider, set()).add(source_id)
    units: dict[str, set[str]] = {}
    for provider, source_ids in wanted.items():
        files = await db.execute(
            select(HarvestFile.unit_key, HarvestFile.chat_source_ids).where(
                HarvestFile.account_id == account_id, HarvestFile.provider == provider
            )
        )
        units[provider] = {key for key, ids in files if source_ids.intersection(ids or [])}
    return units


async def job_state(db: AsyncSession, job_id: uuid.UUID) -> tuple[str, dict[str, Any] | None, str | None]:
    row = (await db.execute(select(Job.status, Job.result, Job.error).where(Job.id == job_id))).one()
    return row[0], row[1], row[2]

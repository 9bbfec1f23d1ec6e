"""SQL of swarms and swarm runs, scoped to an account."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import AgentRun, Swarm, SwarmRun


async def list_swarms(db: AsyncSession, account_id: uuid.UUID) -> Sequence[Swarm]:
    result = await db.scalars(select(Swarm).where(Swarm.account_id == account_id).order_by(Swarm.name_key))
    return result.all()


async def get_swarm(db: AsyncSession, account_id: uuid.UUID, swarm_id: uuid.UUID) -> Swarm | None:
    return await db.scalar(select(Swarm).where(Swarm.account_id == account_id, Swarm.id == swarm_id))


async def swarm_by_name(db: AsyncSession, account_id: uuid.UUID, name: str) -> Swarm | None:
    return await db.scalar(
        select(Swarm).where(Swarm.account_id == account_id, Swarm.name_key == name.strip().lower())
    )


async def latest_run(db: AsyncSession, swarm_id: uuid.UUID) -> SwarmRun | None:
    return await db.scalar(
        select(SwarmRun).where(SwarmRun.swarm_id == swarm_id).order_by(SwarmRun.created_at.desc()).limit(1)
    )


async def get_run(db: AsyncSession, account_id: uuid.UUID, run_id: uuid.UUID) -> SwarmRun | None:
    return await db.scalar(select(SwarmRun).where(SwarmRun.account_id == account_id, SwarmRun.id == run_id))


async def coordinator_run_id(db: AsyncSession, swarm_run_id: uuid.UUID) -> uuid.UUID | None:
    """The coordinator's agent run of a swarm run (the root of its tree)."""
    return await db.scalar(
        select(AgentRun.id).where(AgentRun.swarm_run_id == swarm_run_id, AgentRun.parent_run_id.is_(None))
    )

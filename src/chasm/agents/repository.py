"""SQL of agents, their runs and steps; every query is scoped to an account."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Agent, AgentRun, AgentStep, Swarm


async def list_agents(db: AsyncSession, account_id: uuid.UUID) -> Sequence[Agent]:
    result = await db.scalars(select(Agent).where(Agent.account_id == account_id).order_by(Agent.name_key))
    return result.all()


async def get_agent(db: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID) -> Agent | None:
    return await db.scalar(select(Agent).where(Agent.account_id == account_id, Agent.id == agent_id))


async def agent_by_name(db: AsyncSession, account_id: uuid.UUID, name: str) -> Agent | None:
    return await db.scalar(
        select(Agent).where(Agent.account_id == account_id, Agent.name_key == name.strip().lower())
    )


async def agents_by_ids(db: AsyncSession, account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> Sequence[Agent]:
    result = await db.scalars(select(Agent).where(Agent.account_id == account_id, Agent.id.in_(ids)))
    return result.all()


async def swarms_using(db: AsyncSession, account_id: uuid.UUID, agent_id: uuid.UUID) -> list[str]:
    """Names of the account's swarms whose coordinator or a worker is the agent."""
    swarms = await db.scalars(select(Swarm).where(Swarm.account_id == account_id))
    return [s.name for s in swarms if s.coordinator_id == agent_id or str(agent_id) in (s.worker_ids or [])]


async def get_run(db: AsyncSession, account_id: uuid.UUID, run_id: uuid.UUID) -> AgentRun | None:
    return await db.scalar(select(AgentRun).where(AgentRun.account_id == account_id, AgentRun.id == run_id))


async def child_run(db: AsyncSession, parent_run_id: uuid.UUID, call_id: str) -> AgentRun | None:
    return await db.scalar(
        select(AgentRun).where(AgentRun.parent_run_id == parent_run_id, AgentRun.parent_call_id == call_id)
    )


async def steps(db: AsyncSession, run_ids: Sequence[uuid.UUID]) -> Sequence[AgentStep]:
    result = await db.scalars(
        select(AgentStep).where(AgentStep.run_id.in_(run_ids)).order_by(AgentStep.created_at, AgentStep.seq)
    )
    return result.all()


async def next_step_seq(db: AsyncSession, run_id: uuid.UUID) -> int:
    last = await db.scalar(select(func.max(AgentStep.seq)).where(AgentStep.run_id == run_id))
    return 0 if last is None else int(last) + 1


async def runs_of_swarm_run(db: AsyncSession, swarm_run_id: uuid.UUID) -> Sequence[AgentRun]:
    result = await db.scalars(
        select(AgentRun).where(AgentRun.swarm_run_id == swarm_run_id).order_by(AgentRun.created_at)
    )
    return result.all()

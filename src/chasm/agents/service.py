"""Agents of an account: create, read, update, delete, clone. An agent's model is checked with the
model layer when it is set (`provider/model`, a model of `provider_id`, or the default)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.agents import repository as repo
from chasm.agents.exceptions import AgentInUse, AgentNameTaken, AgentNotFound
from chasm.agents.schemas import DEFAULT_TOOLS, AgentFields, AgentRead, CloneAgent, CreateAgent, UpdateAgent
from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.kit.ids import parse_uuid
from chasm.kit.timeutil import utcnow
from chasm.models import Agent
from chasm.providers import service as providers
from chasm.providers.exceptions import UnknownProvider

DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_STEPS = 20
DEFAULT_TIMEOUT_S = 600


def model_spec(provider: str | None, model: str | None) -> str | None:
    """What the model layer resolves: `provider/model`, a provider (its default model), a bare
    model (of the default provider), or None (the default provider's default model)."""
    if provider and model:
        return model if model.startswith(f"{provider}/") else f"{provider}/{model}"
    return provider or model or None


def agent_out(agent: Agent) -> AgentRead:
    return AgentRead(
        id=agent.id,
        name=agent.name,
        description=agent.description,
        system_prompt=agent.system_prompt,
        instruction=agent.system_prompt,
        role=agent.role,
        provider_id=agent.provider,
        model=agent.model,
        temperature=agent.temperature,
        max_steps=agent.max_steps,
        timeout_s=agent.timeout_s,
        tools=list(agent.tools or []),
        network=agent.network or "none",
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


async def get_agent(db: AsyncSession, actor: Actor, selector: str | uuid.UUID) -> Agent:
    """An agent of the caller's account by id or name."""
    agent_id = selector if isinstance(selector, uuid.UUID) else parse_uuid(selector)
    found = (
        await repo.get_agent(db, actor.account_id, agent_id)
        if agent_id is not None
        else await repo.agent_by_name(db, actor.account_id, str(selector))
    )
    if found is None:
        raise AgentNotFound()
    return found


async def _check_model(db: AsyncSession, actor: Actor, provider: str | None, model: str | None) -> None:
    resolved = await providers.resolve_route(db, actor, model_spec(provider, model))
    if provider and resolved.provider.name != provider:
        # A spec whose prefix names no provider is a bare model of the default provider
        # ("meta-llama/Llama-3-8B"); an explicit provider_id must name one.
        raise UnknownProvider(f"No provider named '{provider}' (provider_id is a provider's name)")


async def _ensure_name_free(db: AsyncSession, actor: Actor, name: str, except_id: uuid.UUID | None) -> None:
    other = await repo.agent_by_name(db, actor.account_id, name)
    if other is not None and other.id != except_id:
        raise AgentNameTaken(name)


async def _flush(db: AsyncSession, name: str) -> None:
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:  # a concurrent create took the name
        raise AgentNameTaken(name) from exc


def _apply(agent: Agent, body: AgentFields) -> None:
    for field, value in body.model_dump(exclude_unset=True, exclude={"name"}).items():
        if value is None and field not in ("role", "provider_id", "model"):
            continue
        column = "provider" if field == "provider_id" else field
        setattr(agent, column, value)


async def list_agents(db: AsyncSession, actor: Actor) -> list[AgentRead]:
    return [agent_out(a) for a in await repo.list_agents(db, actor.account_id)]


async def create_agent(db: AsyncSession, actor: Actor, body: CreateAgent) -> AgentRead:
    await _ensure_name_free(db, actor, body.name, None)
    await _check_model(db, actor, body.provider_id, body.model)
    now = utcnow()
    agent = Agent(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        name=body.name,
        name_key=body.name.lower(),
        description="",
        system_prompt="",
        temperature=DEFAULT_TEMPERATURE,
        max_steps=DEFAULT_MAX_STEPS,
        timeout_s=DEFAULT_TIMEOUT_S,
        tools=list(DEFAULT_TOOLS),
        network="none",
        created_at=now,
        updated_at=now,
    )
    _apply(agent, body)
    db.add(agent)
    await _flush(db, body.name)
    record(db, actor, "agent.create", "agent", agent.id, summary=f"created agent {agent.name}")
    return agent_out(agent)


async def read_agent(db: AsyncSession, actor: Actor, agent_id: uuid.UUID) -> AgentRead:
    return agent_out(await get_agent(db, actor, agent_id))


async def update_agent(db: AsyncSession, actor: Actor, agent_id: uuid.UUID, body: UpdateAgent) -> AgentRead:
    agent = await get_agent(db, actor, agent_id)
    changed = body.model_dump(exclude_unset=True)
    if body.name is not None and body.name.lower() != agent.name_key:
        await _ensure_name_free(db, actor, body.name, agent.id)
    if body.name is not None:
        agent.name, agent.name_key = body.name, body.name.lower()
    if "provider_id" in changed or "model" in changed:
        provider = body.provider_id if "provider_id" in changed else agent.provider
        model = body.model if "model" in changed else agent.model
        await _check_model(db, actor, provider, model)
    _apply(agent, body)
    agent.updated_at = utcnow()
    await _flush(db, agent.name)
    record(db, actor, "agent.update", "agent", agent.id, metadata={"fields": sorted(changed)})
    return agent_out(agent)


async def delete_agent(db: AsyncSession, actor: Actor, agent_id: uuid.UUID) -> AgentRead:
    agent = await get_agent(db, actor, agent_id)
    swarms = await repo.swarms_using(db, actor.account_id, agent.id)
    if swarms:
        raise AgentInUse(f"Agent '{agent.name}' belongs to the swarms {', '.join(swarms)}; change them first")
    out = agent_out(agent)
    await db.delete(agent)
    await db.flush()
    record(db, actor, "agent.delete", "agent", agent.id, summary=f"deleted agent {agent.name}")
    return out


async def clone_agent(db: AsyncSession, actor: Actor, agent_id: uuid.UUID, body: CloneAgent) -> AgentRead:
    source = await get_agent(db, actor, agent_id)
    name = body.name or await _copy_name(db, actor, source.name)
    await _ensure_name_free(db, actor, name, None)
    now = utcnow()
    agent = Agent(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        name=name,
        name_key=name.lower(),
        description=source.description,
        system_prompt=source.system_prompt,
        role=source.role,
        provider=source.provider,
        model=source.model,
        temperature=source.temperature,
        max_steps=source.max_steps,
        timeout_s=source.timeout_s,
        tools=list(source.tools or []),
        network=source.network,
        created_at=now,
        updated_at=now,
    )
    db.add(agent)
    await _flush(db, name)
    record(db, actor, "agent.clone", "agent", agent.id, metadata={"source": str(source.id)})
    return agent_out(agent)


async def _copy_name(db: AsyncSession, actor: Actor, name: str) -> str:
    base = f"{name[:94]}-copy"
    candidate, n = base, 2
    while await repo.agent_by_name(db, actor.account_id, candidate) is not None:
        candidate, n = f"{base}-{n}", n + 1
    return candidate

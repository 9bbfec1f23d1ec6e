"""Chat completions addressed to an agent: `model: "<agent name>"` on /chat/completions uses the
agent's model, instruction (when the caller sends no system message) and temperature. Registered
with the completions router (by chasm.agents.endpoints), which asks it before the providers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.agents import repository as repo
from chasm.agents.service import model_spec
from chasm.auth.actor import Actor
from chasm.completions import routing
from chasm.providers import service as providers


async def agent_route(db: AsyncSession, actor: Actor, spec: str) -> routing.Route | None:
    """The route of an agent named `spec` (None: no agent has that name; agent names have no `/`)."""
    if not spec or "/" in spec:
        return None
    agent = await repo.agent_by_name(db, actor.account_id, spec)
    if agent is None:
        return None
    resolved = await providers.resolve_route(db, actor, model_spec(agent.provider, agent.model))
    return routing.Route(
        chat=resolved.chat,
        model=resolved.model,
        provider=resolved.provider.name,
        system_prompt=agent.system_prompt or None,
        temperature=agent.temperature,
        agent=agent.name,
    )

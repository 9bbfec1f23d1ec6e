"""Agent runs: start one (its chat and first messages), run it to an answer, read it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.agents import repository as repo
from chasm.agents import service, transcript
from chasm.agents.exceptions import RunNotFound
from chasm.agents.runner import Runner, StepListener
from chasm.agents.schemas import AgentRunRead, RunError, StepRead
from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import Agent, AgentRun, AgentStep, Chat
from chasm.providers.llm import ChatMessage

WORKSPACE_NAME_MAX = 64


def agent_workspace(prefix: str, name: str) -> str:
    """The sandbox workspace an agent's tools use (a valid workspace name)."""
    return f"{prefix}-{name}"[:WORKSPACE_NAME_MAX].rstrip(" .-_") or prefix


def step_out(step: AgentStep) -> StepRead:
    return StepRead.model_validate(step, from_attributes=True)


def run_out(run: AgentRun, steps: Sequence[AgentStep] = ()) -> AgentRunRead:
    return AgentRunRead(
        id=run.id,
        agent_id=run.agent_id,
        agent=run.agent_name,
        status=run.status,
        prompt=run.prompt,
        answer=run.answer,
        error=RunError(code=run.error_code or "run_failed", message=run.error) if run.error else None,
        chat_id=run.chat_id,
        parent_run_id=run.parent_run_id,
        swarm_run_id=run.swarm_run_id,
        model=run.model,
        workspace=run.workspace,
        step_count=run.steps,
        steps=[step_out(s) for s in steps],
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


async def create_run(
    db: AsyncSession,
    actor: Actor,
    agent: Agent,
    prompt: str,
    *,
    workspace: str,
    title: str | None = None,
    parent_chat: Chat | None = None,
    context: Sequence[ChatMessage] = (),
    first_seq: int = 0,
    chat: Chat | None = None,
    links: dict[str, Any] | None = None,
    model: str | None = None,
    system: str | None = None,
) -> AgentRun:
    """A new run of `agent` and its chat (or `chat`, when the run goes on in an existing one):
    the instruction (`system`, else the agent's), the context, then the prompt. `model` overrides
    the agent's; `links` are the run's swarm fields."""
    links = links or {}
    spec = model or service.model_spec(agent.provider, agent.model)
    run = AgentRun(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        agent_id=agent.id,
        agent_name=agent.name,
        model=spec,
        workspace=workspace,
        status="created",
        prompt=prompt,
        steps=0,
        first_seq=first_seq,
        created_at=utcnow(),
        updated_at=utcnow(),
        **links,
    )
    meta = {"agent": agent.name, "agent_run_id": str(run.id)}
    if links.get("swarm_run_id"):
        meta["swarm_run_id"] = str(links["swarm_run_id"])
    if chat is None:
        chat = await transcript.new_chat(
            db,
            actor.account_id,
            title=title or f"{agent.name}: {prompt.strip().splitlines()[0][:200]}",
            model=spec,
            meta=meta,
            parent=parent_chat,
        )
    run.chat_id = chat.id
    db.add(run)
    await db.flush()
    messages = []
    instruction = agent.system_prompt if system is None else system
    if instruction:
        messages.append(ChatMessage("system", instruction))
    messages.extend(context)
    messages.append(ChatMessage("user", prompt))
    for message in messages:
        await transcript.append(db, chat, message)
    record(db, actor, "agent.run", "agent_run", run.id, summary=f"ran agent {agent.name}")
    return run


async def run_agent(
    app: Any, actor: Actor, agent_id: uuid.UUID, prompt: str, on_step: StepListener | None = None
) -> AgentRunRead:
    """Run the agent on `prompt` until it answers (or fails: raised, with the run recorded)."""
    async with transaction(app.state.sessionmaker) as db:
        agent = await service.get_agent(db, actor, agent_id)
        run = await create_run(db, actor, agent, prompt, workspace=agent_workspace("agent", agent.name))
    await Runner(app, actor, run.id, on_step=on_step).drive()
    async with app.state.sessionmaker() as db:
        return await read_run(db, actor, run.id)


async def check_agent(app: Any, actor: Actor, agent_id: uuid.UUID) -> None:
    """Refuse now (before a stream starts) an agent the caller does not have."""
    async with app.state.sessionmaker() as db:
        await service.get_agent(db, actor, agent_id)


async def read_run(db: AsyncSession, actor: Actor, run_id: uuid.UUID) -> AgentRunRead:
    run = await repo.get_run(db, actor.account_id, run_id)
    if run is None:
        raise RunNotFound()
    return run_out(run, await repo.steps(db, [run.id]))

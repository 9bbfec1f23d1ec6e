"""Agent routes of spec 001 (/api/v1/agents, bare) and 003 (/api/agents, enveloped), plus runs."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import StreamingResponse

from chasm.agents import continuation, live, routing, runs, service
from chasm.agents.exceptions import AgentNotFound, RunNotFound
from chasm.agents.runner import StepListener
from chasm.agents.schemas import (
    AgentRead,
    AgentRunRead,
    CloneAgent,
    ContinueChat,
    CreateAgent,
    RunAgent,
    UpdateAgent,
)
from chasm.auth.deps import ChatReader, ChatWriter
from chasm.chats.exceptions import ChatNotFound
from chasm.completions import routing as completions_routing
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.ids import parse_uuid
from chasm.kit.surface import ChatRouter, NoContent, surface_of

routes = ChatRouter(tag=Tag.AGENTS)
# /chat/completions with `model: "<agent name>"` goes to the agent (asked before the providers).
completions_routing.register(routing.agent_route)


def agent_id(id_: Annotated[str, Path(alias="id", description="The agent id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise AgentNotFound()
    return parsed


def run_id(id_: Annotated[str, Path(alias="run_id", description="The run id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise RunNotFound()
    return parsed


AgentId = Annotated[uuid.UUID, Depends(agent_id)]
RunId = Annotated[uuid.UUID, Depends(run_id)]


@routes.get("/agents", model=list[AgentRead])
async def list_agents(actor: ChatReader, db: DbSession) -> list[AgentRead]:
    """The account's agents, by name."""
    return await service.list_agents(db, actor)


@routes.post("/agents", model=AgentRead, status_code=201)
async def create_agent(actor: ChatWriter, db: DbSession, body: CreateAgent) -> AgentRead:
    """Create an agent (its model is checked with its provider's configuration)."""
    return await service.create_agent(db, actor, body)


@routes.get("/agents/runs/{run_id}", model=AgentRunRead)
async def get_run(actor: ChatReader, db: DbSession, run: RunId) -> AgentRunRead:
    """An agent run with its steps."""
    return await runs.read_run(db, actor, run)


@routes.get("/agents/{id}", model=AgentRead)
async def get_agent(actor: ChatReader, db: DbSession, agent: AgentId) -> AgentRead:
    """An agent."""
    return await service.read_agent(db, actor, agent)


@routes.put("/agents/{id}", model=AgentRead)
async def update_agent(actor: ChatWriter, db: DbSession, agent: AgentId, body: UpdateAgent) -> AgentRead:
    """Change an agent's fields (only those sent)."""
    return await service.update_agent(db, actor, agent, body)


@routes.delete("/agents/{id}", model=AgentRead, no_content=True)
async def delete_agent(actor: ChatWriter, db: DbSession, agent: AgentId) -> NoContent:
    """Delete an agent (refused while a swarm uses it); its runs' chats stay in the library."""
    return NoContent(await service.delete_agent(db, actor, agent))


@routes.post("/agents/{id}/clone", model=AgentRead, status_code=201)
async def clone_agent(
    actor: ChatWriter, db: DbSession, agent: AgentId, body: CloneAgent | None = None
) -> AgentRead:
    """Copy an agent under a new name (`<name>-copy` unless one is given)."""
    return await service.clone_agent(db, actor, agent, body or CloneAgent())


@routes.post("/agents/{id}/run", model=AgentRunRead)
async def run_agent(request: Request, actor: ChatWriter, agent: AgentId, body: RunAgent) -> AgentRunRead:
    """Run the agent on one task until it answers; the run is a chat of the library holding every
    tool call and result. A run that fails is recorded failed and answered as an error."""
    return await runs.run_agent(request.app, actor, agent, body.prompt)


@routes.post(
    "/agents/{id}/run/stream",
    model=None,
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`step` events while the agent runs, then `run` (the finished run) or `error`",
        }
    },
)
async def stream_agent_run(
    request: Request, actor: ChatWriter, agent: AgentId, body: RunAgent
) -> StreamingResponse:
    """As /run, answered as Server-Sent Events while it runs: `step` events, then `run` (the
    finished run) or `error`. Closing the stream stops the run."""
    await runs.check_agent(request.app, actor, agent)

    def work(on_step: StepListener) -> Awaitable[AgentRunRead]:
        return runs.run_agent(request.app, actor, agent, body.prompt, on_step)

    events = live.sse(work, surface_of(request.scope))
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def chat_id(id_: Annotated[str, Path(alias="id", description="The chat (session) id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise ChatNotFound()
    return parsed


@routes.post("/sessions/{id}/continue", model=AgentRunRead)
async def continue_chat(
    request: Request, actor: ChatWriter, chat: Annotated[uuid.UUID, Depends(chat_id)], body: ContinueChat
) -> AgentRunRead:
    """Go on with any chat of the library: an agent run (in a fork of the chat, recorded there)
    whose context is the chat, in a sandbox holding the chat's repository when it names one."""
    return await continuation.continue_chat(request.app, actor, chat, body)

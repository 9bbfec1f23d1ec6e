"""Swarm routes of spec 003 (/api/v1/swarms bare, /api/swarms enveloped)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from chasm.auth.deps import ChatReader, ChatWriter
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.events import EventBus
from chasm.kit.ids import parse_uuid
from chasm.kit.surface import ChatRouter, NoContent
from chasm.swarms import service
from chasm.swarms.exceptions import SwarmNotFound
from chasm.swarms.schemas import CreateSwarm, StartSwarm, SwarmRead, SwarmRunRead

routes = ChatRouter(tag=Tag.SWARMS)


def swarm_id(id_: Annotated[str, Path(alias="id", description="The swarm id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise SwarmNotFound()
    return parsed


async def get_bus(request: Request) -> EventBus | None:
    return getattr(request.app.state, "events", None)


SwarmId = Annotated[uuid.UUID, Depends(swarm_id)]
EventBusDep = Annotated[EventBus | None, Depends(get_bus)]


@routes.get("/swarms", model=list[SwarmRead])
async def list_swarms(actor: ChatReader, db: DbSession) -> list[SwarmRead]:
    """The account's swarms, with the state of their latest run."""
    return await service.list_swarms(db, actor)


@routes.post("/swarms", model=SwarmRead, status_code=201)
async def create_swarm(actor: ChatWriter, db: DbSession, body: CreateSwarm) -> SwarmRead:
    """Create a swarm: a coordinator agent and worker agents, by name or id."""
    return await service.create_swarm(db, actor, body)


@routes.get("/swarms/{id}", model=SwarmRead)
async def get_swarm(actor: ChatReader, db: DbSession, swarm: SwarmId) -> SwarmRead:
    """A swarm and its latest run: state, answer, every agent's run and every step."""
    return await service.get_swarm(db, actor, swarm)


@routes.delete("/swarms/{id}", model=SwarmRead, no_content=True)
async def delete_swarm(actor: ChatWriter, db: DbSession, swarm: SwarmId) -> NoContent:
    """Delete a swarm (refused while a run of it is active); its runs' chats stay in the library."""
    return NoContent(await service.delete_swarm(db, actor, swarm))


@routes.post("/swarms/{id}/start", model=SwarmRunRead, status_code=202)
async def start_swarm(
    actor: ChatWriter, db: DbSession, bus: EventBusDep, swarm: SwarmId, body: StartSwarm
) -> SwarmRunRead:
    """Start a run on a prompt, as a durable job; follow it with GET /swarms/{id}."""
    return await service.start(db, actor, swarm, body.prompt, bus)


@routes.post("/swarms/{id}/pause", model=SwarmRunRead)
async def pause_swarm(actor: ChatWriter, db: DbSession, bus: EventBusDep, swarm: SwarmId) -> SwarmRunRead:
    """Pause the running run after its step under way."""
    return await service.pause(db, actor, swarm, bus)


@routes.post("/swarms/{id}/resume", model=SwarmRunRead)
async def resume_swarm(actor: ChatWriter, db: DbSession, bus: EventBusDep, swarm: SwarmId) -> SwarmRunRead:
    """Resume a paused run from its recorded steps (also after a server restart)."""
    return await service.resume(db, actor, swarm, bus)


@routes.post("/swarms/{id}/stop", model=SwarmRunRead)
async def stop_swarm(actor: ChatWriter, db: DbSession, bus: EventBusDep, swarm: SwarmId) -> SwarmRunRead:
    """Stop the run: whatever is under way is canceled and nothing of it keeps running."""
    return await service.stop(db, actor, swarm, bus)

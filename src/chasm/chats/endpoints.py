"""Chat library routes of spec 001 (/api/v1) and 003 (/api): workspaces and sessions (chats).

Each route is declared once and built per surface (`chasm.kit.surface`). Path ids are plain
strings: an id that is not a UUID names no chat, so it is the resource's own 404
(`SESSION_NOT_FOUND`, `WORKSPACE_NOT_FOUND`), and fixed routes such as /sessions/search and
/sessions/merge are declared before the id routes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from chasm.auth.deps import ChatReader, ChatWriter, HarvestRunner, SessionMaker
from chasm.chats import service
from chasm.chats import workspaces as chat_workspaces
from chasm.chats.exceptions import ChatNotFound, WorkspaceNotFound
from chasm.chats.repository import MAX_TAG_FILTERS, ChatFilters
from chasm.chats.schemas import (
    ChatDetail,
    ChatList,
    ChatRead,
    CreateMessage,
    CreateSession,
    CreateWorkspace,
    Deleted,
    ForkSession,
    MergeSessions,
    MessageRead,
    UpdateSession,
    UpdateWorkspace,
    WorkspaceDetail,
    WorkspaceRead,
    for_spec001,
)
from chasm.harvest.provider_names import chat_providers
from chasm.harvest.schemas import HarvestResult, WorkspaceRefresh
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.errors import BadRequest
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import MAX_OFFSET
from chasm.kit.surface import ChatRouter, NoContent, Page, Surface, surface_of

workspace_routes = ChatRouter(tag=Tag.WORKSPACES, present_v1=for_spec001)
routes = ChatRouter(tag=Tag.SESSIONS, present_v1=for_spec001)


def page_limit(request: Request, limit: Annotated[int | None, Query(ge=1, le=100)] = None) -> int:
    """Spec 001 (/api/v1) defaults to 20 items, spec 003 (/api) to 50."""
    if limit is not None:
        return limit
    return 20 if surface_of(request.scope) is Surface.V1 else 50


Limit = Annotated[int, Depends(page_limit)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def chat_id(id_: Annotated[str, Path(alias="id", description="The chat (session) id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise ChatNotFound()
    return parsed


def workspace_id(id_: Annotated[str, Path(alias="id", description="The workspace id")]) -> uuid.UUID:
    parsed = parse_uuid(id_)
    if parsed is None:
        raise WorkspaceNotFound()
    return parsed


ChatId = Annotated[uuid.UUID, Depends(chat_id)]
WorkspaceId = Annotated[uuid.UUID, Depends(workspace_id)]


def chat_filters(
    workspace_id: Annotated[uuid.UUID | None, Query(description="Only chats of this workspace")] = None,
    workspace: Annotated[str | None, Query(description="Alias of workspace_id (spec 003)")] = None,
    provider: Annotated[
        str | None,
        Query(max_length=60, description="A 001 provider name (copilot, claude, ...) or a source id"),
    ] = None,
    archived: Annotated[
        bool | None, Query(description="Only archived (true) or active (false) chats")
    ] = None,
    model: Annotated[
        str | None,
        Query(max_length=200, description="Only chats with this model (the chat's, or one of its messages')"),
    ] = None,
    tag: Annotated[
        list[str] | None,
        Query(
            description=f"Only chats holding this tag (repeat, up to {MAX_TAG_FILTERS}: every one of them)"
        ),
    ] = None,
) -> ChatFilters:
    if workspace is not None and workspace_id is None:
        workspace_id = parse_uuid(workspace)
        if workspace_id is None:
            raise BadRequest("workspace must be a workspace id", code="invalid_workspace")
    providers = chat_providers(provider) if provider is not None else None
    tags = tuple(dict.fromkeys(t.strip() for t in tag or () if t.strip()))
    if len(tags) > MAX_TAG_FILTERS:
        raise BadRequest(f"Filter by at most {MAX_TAG_FILTERS} tags", code="invalid_tags")
    return ChatFilters(
        workspace_id=workspace_id, provider=providers, archived=archived, model=model or None, tags=tags
    )


Filters = Annotated[ChatFilters, Depends(chat_filters)]


# Workspaces


@workspace_routes.get("/workspaces", model=WorkspaceRead, paged=True)
async def list_workspaces(
    actor: ChatReader, db: DbSession, limit: Limit, offset: Offset = 0
) -> Page[WorkspaceRead]:
    """Chat workspaces (project folders) with their chat counts, most recently updated first."""
    items, total = await chat_workspaces.list_workspaces(db, actor, limit, offset)
    return Page(items, total, limit, offset)


@workspace_routes.post("/workspaces", model=WorkspaceRead, status_code=201)
async def create_workspace(actor: ChatWriter, db: DbSession, body: CreateWorkspace) -> WorkspaceRead:
    """Create a chat workspace."""
    return await chat_workspaces.create_workspace(db, actor, body)


@workspace_routes.post("/workspaces/discover", model=list[WorkspaceRead])
async def discover_workspaces(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings
) -> list[WorkspaceRead]:
    """Scan every enabled harvest source's folders and list the workspaces found."""
    return await chat_workspaces.discover_workspaces(maker, settings, actor)


@workspace_routes.get("/workspaces/{id}", model=WorkspaceDetail)
async def get_workspace(actor: ChatReader, db: DbSession, ws_id: WorkspaceId) -> WorkspaceDetail:
    """A workspace with its chats."""
    return await chat_workspaces.get_workspace(db, actor, ws_id)


@workspace_routes.put("/workspaces/{id}", model=WorkspaceRead)
async def update_workspace(
    actor: ChatWriter, db: DbSession, ws_id: WorkspaceId, body: UpdateWorkspace
) -> WorkspaceRead:
    """Rename a workspace or change its path."""
    return await chat_workspaces.update_workspace(db, actor, ws_id, body)


@workspace_routes.delete("/workspaces/{id}", model=Deleted, no_content=True)
async def delete_workspace(actor: ChatWriter, db: DbSession, ws_id: WorkspaceId) -> NoContent:
    """Delete a workspace; its chats are kept, without a workspace (204 on /api/v1)."""
    return NoContent(await chat_workspaces.delete_workspace(db, actor, ws_id))


@workspace_routes.post("/workspaces/{id}/refresh", model=WorkspaceRefresh)
async def refresh_workspace(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings, ws_id: WorkspaceId
) -> WorkspaceRefresh:
    """Re-harvest the files holding this workspace's chats."""
    workspace, report = await chat_workspaces.refresh_workspace(maker, settings, actor, ws_id)
    return WorkspaceRefresh(workspace=workspace, harvest=HarvestResult.of(report))


# Sessions (chats)


@routes.get("/sessions", model=ChatList)
async def list_chats(
    actor: ChatReader, db: DbSession, filters: Filters, limit: Limit, offset: Offset = 0
) -> ChatList:
    """Chats, most recently updated first, with the total matching the filters."""
    return await service.list_chats(db, actor, filters, limit, offset)


@routes.post("/sessions", model=ChatDetail, status_code=201)
async def create_chat(actor: ChatWriter, db: DbSession, body: CreateSession) -> ChatDetail:
    """Create a chat, optionally with messages."""
    return await service.create_chat(db, actor, body)


@routes.post("/sessions/merge", model=ChatDetail)
async def merge_chats(actor: ChatWriter, db: DbSession, body: MergeSessions) -> ChatDetail:
    """Merge chats into a new one: interleave (by time), concatenate, or smart (drop shared messages)."""
    return await service.merge_chats(db, actor, body)


@routes.get("/sessions/{id}", model=ChatDetail)
async def get_chat(actor: ChatReader, db: DbSession, chat: ChatId) -> ChatDetail:
    """A chat with all its messages."""
    return await service.get_chat(db, actor, chat)


@routes.put("/sessions/{id}", model=ChatRead)
async def update_chat(actor: ChatWriter, db: DbSession, chat: ChatId, body: UpdateSession) -> ChatRead:
    """Change a chat's title, tags or archived flag."""
    return await service.update_chat(db, actor, chat, body)


@routes.delete("/sessions/{id}", model=Deleted, no_content=True)
async def delete_chat(actor: ChatWriter, db: DbSession, chat: ChatId) -> NoContent:
    """Delete a chat and its messages (204 on /api/v1)."""
    return NoContent(await service.delete_chat(db, actor, chat))


@routes.post("/sessions/{id}/archive", model=ChatRead)
async def archive_chat(actor: ChatWriter, db: DbSession, chat: ChatId) -> ChatRead:
    """Archive a chat."""
    return await service.archive_chat(db, actor, chat)


@routes.post("/sessions/{id}/fork", model=ChatDetail, status_code=201)
async def fork_chat(
    actor: ChatWriter, db: DbSession, chat: ChatId, body: ForkSession | None = None
) -> ChatDetail:
    """Copy a chat into a new one, up to and including `message_id` when given."""
    return await service.fork_chat(db, actor, chat, body or ForkSession())


@routes.get("/sessions/{id}/messages", model=MessageRead, paged=True)
async def list_messages(
    actor: ChatReader, db: DbSession, chat: ChatId, limit: Limit, offset: Offset = 0
) -> Page[MessageRead]:
    """A page of a chat's messages, in order."""
    items, total = await service.list_messages(db, actor, chat, limit, offset)
    return Page(items, total, limit, offset)


@routes.post("/sessions/{id}/messages", model=MessageRead, status_code=201)
async def add_message(actor: ChatWriter, db: DbSession, chat: ChatId, body: CreateMessage) -> MessageRead:
    """Append a message to a chat."""
    return await service.add_message(db, actor, chat, body)

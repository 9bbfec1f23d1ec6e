"""Chat library routes of spec 001 (/api/v1) and 003 (/api): workspaces and sessions (chats).

Session and workspace ids are UUIDs in the path (`{id:uuid}`), so fixed routes such as
/sessions/search and /sessions/merge are never taken for an id.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from chasm.auth.deps import ChatReader, ChatWriter, HarvestRunner, SessionMaker
from chasm.chats import service
from chasm.chats.repository import ChatFilters
from chasm.chats.schemas import (
    CreateMessage,
    CreateSession,
    CreateWorkspace,
    ForkSession,
    MergeSessions,
    UpdateSession,
    UpdateWorkspace,
)
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.envelope import ok
from chasm.kit.errors import BadRequest
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import MAX_OFFSET

router = APIRouter()


def page_limit(request: Request, limit: Annotated[int | None, Query(ge=1, le=100)] = None) -> int:
    """Spec 001 (/api/v1) defaults to 20 items, spec 003 (/api) to 50."""
    if limit is not None:
        return limit
    return 20 if request.url.path.startswith("/api/v1/") else 50


Limit = Annotated[int, Depends(page_limit)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def chat_filters(
    workspace_id: Annotated[uuid.UUID | None, Query(description="Only chats of this workspace")] = None,
    workspace: Annotated[str | None, Query(description="Alias of workspace_id (spec 003)")] = None,
    provider: Annotated[str | None, Query(max_length=60)] = None,
    archived: Annotated[
        bool | None, Query(description="Only archived (true) or active (false) chats")
    ] = None,
) -> ChatFilters:
    if workspace is not None and workspace_id is None:
        workspace_id = parse_uuid(workspace)
        if workspace_id is None:
            raise BadRequest("workspace must be a workspace id", code="invalid_workspace")
    return ChatFilters(workspace_id=workspace_id, provider=provider, archived=archived)


Filters = Annotated[ChatFilters, Depends(chat_filters)]


# Workspaces


@router.get("/workspaces", tags=["Workspaces"])
async def list_workspaces(
    actor: ChatReader, session: DbSession, limit: Limit, offset: Offset = 0
) -> dict[str, Any]:
    """Chat workspaces (project folders) with their chat counts, most recently updated first."""
    items, total = await service.list_workspaces(session, actor, limit, offset)
    return ok(items, pagination={"total": total, "limit": limit, "offset": offset})


@router.post("/workspaces", status_code=201, tags=["Workspaces"])
async def create_workspace(actor: ChatWriter, session: DbSession, body: CreateWorkspace) -> dict[str, Any]:
    """Create a chat workspace."""
    return ok(await service.create_workspace(session, actor, body))


@router.post("/workspaces/discover", tags=["Workspaces"])
async def discover_workspaces(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings
) -> dict[str, Any]:
    """Scan every enabled harvest source's folders and list the workspaces found."""
    return ok(await service.discover_workspaces(maker, settings, actor))


@router.get("/workspaces/{workspace_id:uuid}", tags=["Workspaces"])
async def get_workspace(actor: ChatReader, session: DbSession, workspace_id: uuid.UUID) -> dict[str, Any]:
    """A workspace with its chats."""
    return ok(await service.get_workspace(session, actor, workspace_id))


@router.put("/workspaces/{workspace_id:uuid}", tags=["Workspaces"])
async def update_workspace(
    actor: ChatWriter, session: DbSession, workspace_id: uuid.UUID, body: UpdateWorkspace
) -> dict[str, Any]:
    """Rename a workspace or change its path."""
    return ok(await service.update_workspace(session, actor, workspace_id, body))


@router.delete("/workspaces/{workspace_id:uuid}", tags=["Workspaces"])
async def delete_workspace(actor: ChatWriter, session: DbSession, workspace_id: uuid.UUID) -> dict[str, Any]:
    """Delete a workspace; its chats are kept, without a workspace."""
    return ok(await service.delete_workspace(session, actor, workspace_id))


@router.post("/workspaces/{workspace_id:uuid}/refresh", tags=["Workspaces"])
async def refresh_workspace(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings, workspace_id: uuid.UUID
) -> dict[str, Any]:
    """Re-harvest the files holding this workspace's chats."""
    return ok(await service.refresh_workspace(maker, settings, actor, workspace_id))


# Sessions (chats)


@router.get("/sessions", tags=["Sessions"])
async def list_sessions(
    actor: ChatReader, session: DbSession, filters: Filters, limit: Limit, offset: Offset = 0
) -> dict[str, Any]:
    """Chats, most recently updated first, with the total matching the filters."""
    return ok(await service.list_sessions(session, actor, filters, limit, offset))


@router.post("/sessions", status_code=201, tags=["Sessions"])
async def create_session(actor: ChatWriter, session: DbSession, body: CreateSession) -> dict[str, Any]:
    """Create a chat, optionally with messages."""
    return ok(await service.create_session(session, actor, body))


@router.post("/sessions/merge", tags=["Sessions"])
async def merge_sessions(actor: ChatWriter, session: DbSession, body: MergeSessions) -> dict[str, Any]:
    """Merge chats into a new one: interleave (by time), concatenate, or smart (drop shared messages)."""
    return ok(await service.merge_sessions(session, actor, body))


@router.get("/sessions/{session_id:uuid}", tags=["Sessions"])
async def get_session(actor: ChatReader, session: DbSession, session_id: uuid.UUID) -> dict[str, Any]:
    """A chat with all its messages."""
    return ok(await service.get_session(session, actor, session_id))


@router.put("/sessions/{session_id:uuid}", tags=["Sessions"])
async def update_session(
    actor: ChatWriter, session: DbSession, session_id: uuid.UUID, body: UpdateSession
) -> dict[str, Any]:
    """Change a chat's title, tags or archived flag."""
    return ok(await service.update_session(session, actor, session_id, body))


@router.delete("/sessions/{session_id:uuid}", tags=["Sessions"])
async def delete_session(actor: ChatWriter, session: DbSession, session_id: uuid.UUID) -> dict[str, Any]:
    """Delete a chat and its messages (200 with the envelope, so every chat response has one)."""
    return ok(await service.delete_session(session, actor, session_id))


@router.post("/sessions/{session_id:uuid}/archive", tags=["Sessions"])
async def archive_session(actor: ChatWriter, session: DbSession, session_id: uuid.UUID) -> dict[str, Any]:
    """Archive a chat."""
    return ok(await service.archive_session(session, actor, session_id))


@router.post("/sessions/{session_id:uuid}/fork", status_code=201, tags=["Sessions"])
async def fork_session(
    actor: ChatWriter, session: DbSession, session_id: uuid.UUID, body: ForkSession | None = None
) -> dict[str, Any]:
    """Copy a chat into a new one, up to and including `message_id` when given."""
    return ok(await service.fork_session(session, actor, session_id, body or ForkSession()))


@router.get("/sessions/{session_id:uuid}/messages", tags=["Sessions"])
async def list_messages(
    actor: ChatReader, session: DbSession, session_id: uuid.UUID, limit: Limit, offset: Offset = 0
) -> dict[str, Any]:
    """A page of a chat's messages, in order."""
    items, total = await service.list_messages(session, actor, session_id, limit, offset)
    return ok(items, pagination={"total": total, "limit": limit, "offset": offset})


@router.post("/sessions/{session_id:uuid}/messages", status_code=201, tags=["Sessions"])
async def add_message(
    actor: ChatWriter, session: DbSession, session_id: uuid.UUID, body: CreateMessage
) -> dict[str, Any]:
    """Append a message to a chat."""
    return ok(await service.add_message(session, actor, session_id, body))

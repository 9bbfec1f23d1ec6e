"""Chat workspaces: the project folders whose chats were harvested (001's "workspaces")."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.auth.actor import Actor, require_instance_admin
from chasm.chats import repository as repo
from chasm.chats.exceptions import (
    WorkspaceExists,
    WorkspaceNotFound,
)
from chasm.chats.schemas import (
    CreateWorkspace,
    Deleted,
    UpdateWorkspace,
    WorkspaceDetail,
    WorkspaceRead,
)
from chasm.chats.service import chat_out
from chasm.config import Settings
from chasm.harvest import service as harvest_service
from chasm.harvest.engine import HarvestReport
from chasm.kit.timeutil import iso, utcnow
from chasm.models import ChatWorkspace


def workspace_out(ws: ChatWorkspace, session_count: int) -> WorkspaceRead:
    return WorkspaceRead(
        id=ws.id,
        name=ws.name,
        path=ws.path,
        provider=ws.provider,
        session_count=session_count,
        sessions=session_count,
        last_harvested=iso(ws.last_harvested),
        created_at=iso(ws.created_at),
        updated_at=iso(ws.updated_at),
        updated=iso(ws.updated_at),
    )


async def _workspace(db: AsyncSession, actor: Actor, workspace_id: uuid.UUID) -> ChatWorkspace:
    ws = await repo.get_workspace(db, actor.account_id, workspace_id)
    if ws is None:
        raise WorkspaceNotFound()
    return ws


async def list_workspaces(
    db: AsyncSession, actor: Actor, limit: int, offset: int
) -> tuple[list[WorkspaceRead], int]:
    rows, total = await repo.list_workspaces(db, actor.account_id, limit, offset)
    return [workspace_out(ws, n) for ws, n in rows], total


async def get_workspace(db: AsyncSession, actor: Actor, workspace_id: uuid.UUID) -> WorkspaceDetail:
    """The workspace with its chats (003: "a workspace with its session list")."""
    ws = await _workspace(db, actor, workspace_id)
    chats, total = await repo.list_chats(
        db, actor.account_id, repo.ChatFilters(workspace_id=ws.id), limit=1000, offset=0
    )
    return WorkspaceDetail(
        **workspace_out(ws, total).model_dump(),
        session_list=[chat_out(c, host_paths=actor.instance_admin) for c in chats],
    )


async def create_workspace(db: AsyncSession, actor: Actor, body: CreateWorkspace) -> WorkspaceRead:
    if await repo.find_workspace(db, actor.account_id, body.path, body.provider) is not None:
        raise WorkspaceExists(f"A workspace for {body.path} already exists")
    ws = ChatWorkspace(account_id=actor.account_id, name=body.name, path=body.path, provider=body.provider)
    db.add(ws)
    await db.flush()
    record(db, actor, "workspace.create", "chat_workspace", ws.id, summary=ws.path)
    return workspace_out(ws, 0)


async def update_workspace(
    db: AsyncSession, actor: Actor, workspace_id: uuid.UUID, body: UpdateWorkspace
) -> WorkspaceRead:
    ws = await _workspace(db, actor, workspace_id)
    if body.path is not None and body.path != ws.path:
        if await repo.find_workspace(db, actor.account_id, body.path, ws.provider) is not None:
            raise WorkspaceExists(f"A workspace for {body.path} already exists")
        ws.path = body.path
    if body.name is not None:
        ws.name = body.name
    ws.updated_at = utcnow()
    await db.flush()
    record(db, actor, "workspace.update", "chat_workspace", ws.id)
    return workspace_out(ws, await repo.workspace_chat_count(db, actor.account_id, ws.id))


async def delete_workspace(db: AsyncSession, actor: Actor, workspace_id: uuid.UUID) -> Deleted:
    """Deletes the workspace; its chats stay in the library, without a workspace."""
    ws = await _workspace(db, actor, workspace_id)
    await repo.detach_workspace(db, actor.account_id, ws.id)
    await db.delete(ws)
    record(db, actor, "workspace.delete", "chat_workspace", workspace_id, summary=ws.path)
    return Deleted(id=workspace_id)


async def discover_workspaces(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor
) -> list[WorkspaceRead]:
    """Scan every enabled source (an incremental harvest: unchanged files are not read) and list the
    workspaces found."""
    require_instance_admin(actor, harvest_service.HOST_HARVEST)
    await harvest_service.harvest(maker, settings, actor.account_id, actor=actor)
    async with maker() as db:
        rows, _ = await list_workspaces(db, actor, limit=10_000, offset=0)
    return rows


async def refresh_workspace(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor, workspace_id: uuid.UUID
) -> tuple[WorkspaceRead, HarvestReport]:
    """Re-harvest the files holding this workspace's chats."""
    require_instance_admin(actor, harvest_service.HOST_HARVEST)
    async with maker() as db:
        await _workspace(db, actor, workspace_id)
    report = await harvest_service.harvest(
        maker, settings, actor.account_id, actor=actor, workspace_ids=[workspace_id]
    )
    async with maker() as db:
        ws = await _workspace(db, actor, workspace_id)
        count = await repo.workspace_chat_count(db, actor.account_id, ws.id)
    return workspace_out(ws, count), report


# Chats

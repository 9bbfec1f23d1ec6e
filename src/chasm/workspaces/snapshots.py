"""Snapshots of workspaces: list, create, restore, delete (the bytes are the sandbox storage's)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.kit.errors import BadRequest
from chasm.kit.pagination import Page, PageParams
from chasm.models import Workspace, WorkspaceSnapshot
from chasm.sandbox.storage.base import WorkspaceStorage
from chasm.webhooks.outbox import emit
from chasm.workspaces import repository as repo
from chasm.workspaces.exceptions import SnapshotExists, SnapshotNotFound, WorkspaceInUse
from chasm.workspaces.schemas import SnapshotOut
from chasm.workspaces.service import disk_id, live_session_id, refresh_size, resolve_workspace


async def list_snapshots(
    db: AsyncSession, actor: Actor, selector: str, paging: PageParams
) -> Page[SnapshotOut]:
    ws = await resolve_workspace(db, actor, selector)
    rows, total = await repo.snapshot_page(db, ws.id, paging)
    return paging.page([snapshot_out(s) for s in rows], total)


def snapshot_data(ws: Workspace, snap: WorkspaceSnapshot) -> dict[str, object]:
    return {
        "workspace_id": str(ws.id),
        "workspace_name": ws.name,
        "snapshot": snap.name,
        "size_bytes": snap.size_bytes,
    }


def snapshot_out(snap: WorkspaceSnapshot) -> SnapshotOut:
    return SnapshotOut(
        id=str(snap.id),
        name=snap.name,
        workspace_id=str(snap.workspace_id),
        size_bytes=snap.size_bytes,
        stored_bytes=snap.stored_bytes,
        file_count=snap.file_count,
        created_at=snap.created_at,
    )


async def _require_detached(db: AsyncSession, ws: Workspace, force: bool, what: str) -> None:
    live = await live_session_id(db, ws)
    if live is not None and not force:
        raise WorkspaceInUse(
            f"Cannot {what} while session {live} is attached to '{ws.name}'; terminate it or pass force=true"
        )


async def create_snapshot(
    db: AsyncSession,
    actor: Actor,
    storage: WorkspaceStorage,
    ws: Workspace,
    name: str | None,
    force: bool,
) -> WorkspaceSnapshot:
    await _require_detached(db, ws, force, "snapshot")
    name = (name or "").strip() or f"snap-{uuid.uuid4().hex[:8]}"
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(name) > 100:
        raise BadRequest(
            "Snapshot name may contain letters, digits, '.', '_' and '-'", code="invalid_snapshot_name"
        )
    if await repo.snapshot_by_name(db, ws.id, name) is not None:
        raise SnapshotExists(name)
    ref = await storage.snapshot(disk_id(ws))
    snap = WorkspaceSnapshot(
        workspace_id=ws.id,
        account_id=ws.account_id,
        name=name,
        size_bytes=ref.size_bytes,
        stored_bytes=ref.stored_bytes,
        file_count=ref.file_count,
        manifest=ref.ref,
    )
    db.add(snap)
    await db.flush()
    record(
        db,
        actor,
        "workspace.snapshot.create",
        "workspace",
        ws.id,
        summary=f"snapshot {name} of {ws.name}",
        metadata={"snapshot": name, "files": ref.file_count},
    )
    await emit(db, ws.account_id, "workspace.snapshot.created", snapshot_data(ws, snap))
    return snap


async def get_snapshot(db: AsyncSession, ws: Workspace, name: str) -> WorkspaceSnapshot:
    snap = await repo.snapshot_by_name(db, ws.id, name)
    if snap is None:
        raise SnapshotNotFound(name)
    return snap


async def restore_snapshot(
    db: AsyncSession, actor: Actor, storage: WorkspaceStorage, ws: Workspace, name: str, force: bool
) -> WorkspaceSnapshot:
    snap = await get_snapshot(db, ws, name)
    await _require_detached(db, ws, force, "restore a snapshot")
    await storage.restore(disk_id(ws), snap.manifest)
    await refresh_size(storage, ws)
    record(
        db,
        actor,
        "workspace.snapshot.restore",
        "workspace",
        ws.id,
        summary=f"restored {ws.name} to snapshot {name}",
        metadata={"snapshot": name},
    )
    await emit(db, ws.account_id, "workspace.snapshot.restored", snapshot_data(ws, snap))
    return snap


async def delete_snapshot(
    db: AsyncSession, actor: Actor, storage: WorkspaceStorage, ws: Workspace, name: str, force: bool
) -> None:
    snap = await get_snapshot(db, ws, name)
    await _require_detached(db, ws, force, "delete a snapshot")
    await db.delete(snap)
    await db.flush()
    await storage.delete_snapshot(snap.manifest)
    record(
        db,
        actor,
        "workspace.snapshot.delete",
        "workspace",
        ws.id,
        summary=f"deleted snapshot {name} of {ws.name}",
        metadata={"snapshot": name},
    )
    await emit(db, ws.account_id, "workspace.snapshot.deleted", snapshot_data(ws, snap))

"""/v1/workspaces: persistent disks, snapshots, templates and imports (spec 002, 004)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession, Paging
from chasm.kit.pagination import Page
from chasm.sandbox.runtime import runtime_of
from chasm.sandbox.storage.base import WorkspaceStorage
from chasm.workspaces import service, snapshots
from chasm.workspaces.schemas import (
    BulkDelete,
    SnapshotCreate,
    SnapshotOut,
    WorkspaceCreate,
    WorkspaceImport,
    WorkspaceName,
    WorkspaceOut,
    WorkspaceTemplate,
)

router = APIRouter(prefix="/v1/workspaces", tags=[Tag.SANDBOX_WORKSPACES])

Reader = Annotated[Actor, Depends(require_scope("workspaces.read"))]
Writer = Annotated[Actor, Depends(require_scope("workspaces.write"))]
LIMITED = [Depends(rate_limited("workspaces"))]


async def get_storage(request: Request) -> WorkspaceStorage:
    return runtime_of(request.app).storage


Storage = Annotated[WorkspaceStorage, Depends(get_storage)]


async def get_terminator(request: Request) -> service.Terminator:
    return service.terminator_of(request.app)


Terminate = Annotated[service.Terminator, Depends(get_terminator)]


@router.post("", status_code=201, dependencies=LIMITED)
async def create_workspace(
    body: WorkspaceCreate, actor: Writer, db: DbSession, settings: AppSettings, storage: Storage
) -> WorkspaceOut:
    """Create a workspace (optionally cloned from a template)."""
    ws = await service.create_workspace(db, actor, settings, storage, body)
    return await service.describe(db, ws)


@router.get("")
async def list_workspaces(
    actor: Reader,
    db: DbSession,
    paging: Paging,
    template: bool | None = None,
    session_type: str | None = None,
) -> Page[WorkspaceOut]:
    """List the active account's workspaces, newest first."""
    return await service.list_workspaces(db, actor, paging, template=template, session_type=session_type)


@router.post("/import", status_code=202, dependencies=LIMITED)
async def import_workspace(
    body: WorkspaceImport, actor: Writer, db: DbSession, settings: AppSettings, storage: Storage
) -> dict[str, Any]:
    """Create a workspace and clone a repository into it (runs as a job)."""
    from chasm.workspaces.tasks import enqueue_import

    ws, job_id = await enqueue_import(db, actor, settings, storage, body)
    return {**(await service.describe(db, ws)).model_dump(mode="json"), "job_id": str(job_id)}


@router.post("/bulk-delete", dependencies=LIMITED)
async def bulk_delete(
    body: BulkDelete, actor: Writer, db: DbSession, storage: Storage, terminate: Terminate
) -> dict[str, Any]:
    """Delete several workspaces; each is reported as deleted or with its error."""
    results: list[dict[str, Any]] = []
    for selector in body.workspaces:
        try:
            async with db.begin_nested():
                ws = await service.resolve_workspace(db, actor, selector)
                await service.delete_workspace(db, actor, storage, ws, force=body.force, terminate=terminate)
            results.append({"workspace": selector, "deleted": True})
        except Exception as exc:  # each failure is reported, the others still proceed
            code = getattr(exc, "code", "error")
            results.append(
                {"workspace": selector, "deleted": False, "error": {"code": code, "message": str(exc)}}
            )
    return {"results": results, "deleted": sum(1 for r in results if r["deleted"])}


@router.get("/{ws}")
async def get_workspace(ws: str, actor: Reader, db: DbSession, storage: Storage) -> WorkspaceOut:
    """Get a workspace by name or id."""
    workspace = await service.resolve_workspace(db, actor, ws)
    await service.refresh_size(storage, workspace)
    return await service.describe(db, workspace)


@router.delete("/{ws}", status_code=204, dependencies=LIMITED)
async def delete_workspace(
    ws: str, actor: Writer, db: DbSession, storage: Storage, terminate: Terminate, force: bool = False
) -> Response:
    """Delete a workspace (409 while a session is attached unless force=true)."""
    workspace = await service.resolve_workspace(db, actor, ws)
    await service.delete_workspace(db, actor, storage, workspace, force=force, terminate=terminate)
    return Response(status_code=204)


@router.put("/{ws}/name", dependencies=LIMITED)
async def set_name(ws: str, body: WorkspaceName, actor: Writer, db: DbSession) -> WorkspaceOut:
    """Rename a workspace; a null name gets a generated one."""
    workspace = await service.resolve_workspace(db, actor, ws)
    await service.rename(db, actor, workspace, body.name)
    return await service.describe(db, workspace)


@router.put("/{ws}/template", dependencies=LIMITED)
async def set_template(ws: str, body: WorkspaceTemplate, actor: Writer, db: DbSession) -> WorkspaceOut:
    """Flag or unflag a workspace as a template."""
    workspace = await service.resolve_workspace(db, actor, ws)
    await service.set_template(db, actor, workspace, body.template)
    return await service.describe(db, workspace)


@router.get("/{ws}/snapshots")
async def list_snapshots(ws: str, actor: Reader, db: DbSession, paging: Paging) -> Page[SnapshotOut]:
    """List a workspace's snapshots, newest first."""
    return await snapshots.list_snapshots(db, actor, ws, paging)


@router.post("/{ws}/snapshots", status_code=201, dependencies=LIMITED)
async def create_snapshot(
    ws: str,
    actor: Writer,
    db: DbSession,
    storage: Storage,
    body: SnapshotCreate | None = None,
    force: bool = False,
) -> SnapshotOut:
    """Create a snapshot (409 while a session is attached unless force=true)."""
    workspace = await service.resolve_workspace(db, actor, ws)
    snap = await snapshots.create_snapshot(db, actor, storage, workspace, body.name if body else None, force)
    return snapshots.snapshot_out(snap)


@router.post("/{ws}/snapshots/{name}/restore", dependencies=LIMITED)
async def restore_snapshot(
    ws: str, name: str, actor: Writer, db: DbSession, storage: Storage, force: bool = False
) -> SnapshotOut:
    """Restore a workspace to a snapshot, exactly."""
    workspace = await service.resolve_workspace(db, actor, ws)
    return snapshots.snapshot_out(
        await snapshots.restore_snapshot(db, actor, storage, workspace, name, force)
    )


@router.delete("/{ws}/snapshots/{name}", status_code=204, dependencies=LIMITED)
async def delete_snapshot(
    ws: str, name: str, actor: Writer, db: DbSession, storage: Storage, force: bool = False
) -> Response:
    """Delete a snapshot."""
    workspace = await service.resolve_workspace(db, actor, ws)
    await snapshots.delete_snapshot(db, actor, storage, workspace, name, force)
    return Response(status_code=204)

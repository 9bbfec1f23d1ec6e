"""Job kinds of the workspaces domain: import, delete, bulk delete."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.jobs import service as jobs
from chasm.jobs.registry import JobContext, job_kind
from chasm.kit.db import transaction
from chasm.models import Workspace
from chasm.sandbox.runtime import runtime_of
from chasm.sandbox.storage.base import WorkspaceStorage
from chasm.sandbox.storage.importer import clone_into, repository_url
from chasm.workspaces import service
from chasm.workspaces.schemas import WorkspaceImport

IMPORT_ATTEMPTS = 2


class ImportInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace_id: str
    url: str
    ref: str | None = None


class DeleteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(description="workspace name or id")
    force: bool = False


class BulkDeleteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspaces: list[str] = Field(min_length=1, max_length=500)
    force: bool = False


async def enqueue_import(
    db: AsyncSession, actor: Actor, settings: Settings, storage: WorkspaceStorage, body: WorkspaceImport
) -> tuple[Workspace, uuid.UUID]:
    url = repository_url(body.github_repo, settings.github_base_url)
    ws = await service.create_import_workspace(db, actor, settings, storage, url, body.github_repo, body.name)
    job = await jobs.enqueue(
        db,
        account_id=actor.account_id,
        kind="workspace.import",
        input={"workspace_id": str(ws.id), "url": url, "ref": body.ref},
        created_by=jobs.principal_of(actor),
    )
    return ws, job.id


@job_kind(
    "workspace.import",
    ImportInput,
    timeout_s=900,
    max_attempts=IMPORT_ATTEMPTS,
    description="Clone a git repository into a workspace created by POST /v1/workspaces/import",
    scope="workspaces.write",
    http_enqueue=False,  # its input names a workspace disk: only POST /v1/workspaces/import makes it
)
async def run_import(ctx: JobContext, data: ImportInput) -> dict[str, Any]:
    storage: WorkspaceStorage = runtime_of(ctx.app).storage
    settings: Settings = ctx.app.state.settings
    disk = data.workspace_id
    try:
        root = await storage.mount(disk)
        await clone_into(data.url, root, data.ref, settings.import_timeout_s)
    except Exception as exc:
        async with transaction(ctx.app.state.sessionmaker) as db:
            ws = await db.get(Workspace, uuid.UUID(disk))
            if ws is not None and ctx.attempt >= IMPORT_ATTEMPTS:
                ws.status, ws.status_detail = "error", str(exc)[:2000]
        raise
    async with transaction(ctx.app.state.sessionmaker) as db:
        ws = await db.get(Workspace, uuid.UUID(disk))
        if ws is None:
            return {"workspace_id": disk, "imported": False, "reason": "workspace was deleted"}
        ws.status, ws.status_detail = "ready", None
        await service.refresh_size(storage, ws)
        return {"workspace_id": disk, "imported": True, "size_bytes": ws.size_bytes}


@job_kind(
    "workspace.delete",
    DeleteInput,
    timeout_s=300,
    description="Delete a workspace (force ends its live session first)",
    scope="workspaces.write",
)
async def run_delete(ctx: JobContext, data: DeleteInput) -> dict[str, Any]:
    return (await _delete_many(ctx, [data.workspace], data.force))[0]


@job_kind(
    "workspace.bulk_delete",
    BulkDeleteInput,
    timeout_s=900,
    description="Delete several workspaces",
    scope="workspaces.write",
)
async def run_bulk_delete(ctx: JobContext, data: BulkDeleteInput) -> dict[str, Any]:
    results = await _delete_many(ctx, data.workspaces, data.force)
    return {"results": results, "deleted": sum(1 for r in results if r["deleted"])}


async def _delete_many(ctx: JobContext, selectors: list[str], force: bool) -> list[dict[str, Any]]:
    storage: WorkspaceStorage = runtime_of(ctx.app).storage
    terminate = service.terminator_of(ctx.app)
    results: list[dict[str, Any]] = []
    for selector in selectors:
        try:
            async with transaction(ctx.app.state.sessionmaker) as db:
                actor = await ctx.actor(db)
                ws = await service.resolve_workspace(db, actor, selector)
                await service.delete_workspace(db, actor, storage, ws, force=force, terminate=terminate)
            results.append({"workspace": selector, "deleted": True})
        except Exception as exc:  # reported per workspace; the others proceed
            results.append({"workspace": selector, "deleted": False, "error": str(exc)})
    return results

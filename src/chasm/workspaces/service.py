"""Workspaces: named persistent disks with snapshots, templates and clones (spec 002, 004)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.accounts.quotas import QuotaExceeded as PlanQuotaExceeded
from chasm.accounts.quotas import is_instance_admin, quota_for
from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.kit.errors import BadRequest
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import Page, PageParams
from chasm.models import Workspace
from chasm.sandbox import images
from chasm.sandbox.kinds import require_available
from chasm.sandbox.storage.base import WorkspaceStorage
from chasm.sandbox.storage.disk import MIN_QUOTA
from chasm.webhooks.outbox import emit
from chasm.workspaces import repository as repo
from chasm.workspaces.exceptions import (
    QuotaExceeded,
    WorkspaceInUse,
    WorkspaceNameTaken,
    WorkspaceNotFound,
)
from chasm.workspaces.names import generate_name, validate_name
from chasm.workspaces.schemas import WorkspaceCreate, WorkspaceOut

log = logging.getLogger("chasm.workspaces")

# Ends the live session attached to a workspace. The sessions domain provides it on
# `app.state.workspace_terminator` (set by its lifespan), so workspaces never import sessions.
Terminator = Callable[[AsyncSession, Actor, uuid.UUID], Awaitable[None]]


def terminator_of(app: FastAPI) -> Terminator:
    terminate: Terminator = app.state.workspace_terminator
    return terminate


def disk_id(ws: Workspace) -> str:
    return str(ws.id)


async def resolve_workspace(db: AsyncSession, actor: Actor, selector: str | uuid.UUID) -> Workspace:
    """A workspace of the active account by UUID or (case-insensitive) name; 404 otherwise."""
    ws_id = parse_uuid(selector)
    ws = await repo.by_id(db, actor.account_id, ws_id) if ws_id else None
    if ws is None and isinstance(selector, str):
        ws = await repo.by_name(db, actor.account_id, selector.strip())
    if ws is None:
        raise WorkspaceNotFound(str(selector))
    return ws


async def live_session_id(db: AsyncSession, ws: Workspace) -> uuid.UUID | None:
    return (await repo.live_sessions(db, [ws.id])).get(ws.id)


def to_out(ws: Workspace, active_session_id: uuid.UUID | None) -> WorkspaceOut:
    return WorkspaceOut(
        id=str(ws.id),
        name=ws.name,
        session_type=ws.session_type,
        image=ws.image,
        template=ws.template,
        source_workspace_id=str(ws.source_workspace_id) if ws.source_workspace_id else None,
        github_repo=ws.github_repo,
        assistant_home=ws.assistant_home,
        active_session_id=str(active_session_id) if active_session_id else None,
        last_session_id=str(ws.last_session_id) if ws.last_session_id else None,
        status=ws.status,
        status_detail=ws.status_detail,
        size_bytes=ws.size_bytes,
        quota_bytes=ws.quota_bytes,
        created_at=ws.created_at,
    )


async def describe(db: AsyncSession, ws: Workspace) -> WorkspaceOut:
    return to_out(ws, await live_session_id(db, ws))


async def describe_many(db: AsyncSession, items: Sequence[Workspace]) -> list[WorkspaceOut]:
    live = await repo.live_sessions(db, [ws.id for ws in items])
    return [to_out(ws, live.get(ws.id)) for ws in items]


async def list_workspaces(
    db: AsyncSession,
    actor: Actor,
    paging: PageParams,
    *,
    template: bool | None,
    session_type: str | None,
) -> Page[WorkspaceOut]:
    rows, total = await repo.list_for_account(
        db, actor.account_id, paging, template=template, session_type=session_type
    )
    return paging.page(await describe_many(db, rows), total)


async def _ensure_name_free(db: AsyncSession, account_id: uuid.UUID, name: str, exclude: Any = None) -> None:
    existing = await repo.by_name(db, account_id, name)
    if existing is not None and existing.id != exclude:
        raise WorkspaceNameTaken(name)


async def _disk_quota(db: AsyncSession, settings: Settings, actor: Actor) -> int:
    """The quota of a new workspace: the per-workspace default, within what the account has left
    of its real storage and of its plan's `disk_bytes` (the sum of its workspaces' quotas)."""
    account_id = actor.account_id
    used = await repo.account_usage(db, account_id)
    remaining = settings.account_storage_quota_bytes - used
    if remaining <= 0:
        raise QuotaExceeded(
            f"The account's storage quota of {settings.account_storage_quota_bytes} bytes is used up"
        )
    size = min(settings.workspace_quota_bytes, remaining)
    plan = quota_for(settings, actor.account.plan)
    if plan.disk_bytes is not None and not await is_instance_admin(db, actor):
        left = plan.disk_bytes - await repo.account_allocated(db, account_id)
        if left < MIN_QUOTA:
            raise PlanQuotaExceeded(
                plan,
                "disk_bytes",
                plan.disk_bytes,
                f"The account's workspaces already hold {plan.disk_bytes - left} bytes of disk quota",
            )
        size = min(size, left)
    return size


async def _new_workspace(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    *,
    name: str | None,
    session_type: str,
    image: str | None,
    template: bool = False,
) -> Workspace:
    final_name = validate_name(name) if name is not None else generate_name()
    await _ensure_name_free(db, actor.account_id, final_name)
    ws = Workspace(
        account_id=actor.account_id,
        name=final_name,
        name_key=final_name.lower(),
        session_type=session_type,
        image=image,
        template=template,
        quota_bytes=await _disk_quota(db, settings, actor),
    )
    db.add(ws)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent create took the name
        raise WorkspaceNameTaken(final_name) from exc
    return ws


async def create_workspace(
    db: AsyncSession, actor: Actor, settings: Settings, storage: WorkspaceStorage, body: WorkspaceCreate
) -> Workspace:
    if body.image and body.session_type != "sandbox":
        raise BadRequest("Only sandbox workspaces accept an image", code="image_not_allowed")
    # Refuse now what a session could never start on (the same errors the session would give).
    require_available(body.session_type)
    if body.image:
        images.resolve(settings, body.image)
    source: Workspace | None = None
    if body.clone_from:
        source = await resolve_workspace(db, actor, body.clone_from)
        if not source.template:
            raise BadRequest(f"Workspace '{source.name}' is not a template", code="not_a_template")
        if source.session_type != body.session_type:
            raise BadRequest(
                f"Template '{source.name}' is a {source.session_type} workspace", code="session_type_mismatch"
            )
        if await live_session_id(db, source):
            raise WorkspaceInUse(f"Template '{source.name}' has an active session; terminate it to clone")
    ws = await _new_workspace(
        db,
        actor,
        settings,
        name=body.name,
        session_type=body.session_type,
        image=body.image or (source.image if source else None),
        template=body.template,
    )
    if source is not None:
        ws.source_workspace_id = source.id
        await storage.clone(disk_id(source), disk_id(ws), ws.quota_bytes)
        ws.size_bytes = await storage.usage(disk_id(ws))
    else:
        await storage.create(disk_id(ws), ws.quota_bytes)
    record(
        db,
        actor,
        "workspace.create",
        "workspace",
        ws.id,
        summary=f"created workspace {ws.name}" + (f" from template {source.name}" if source else ""),
        metadata={
            "name": ws.name,
            "session_type": ws.session_type,
            "clone_from": str(source.id) if source else None,
        },
    )
    await emit(db, ws.account_id, "workspace.created", workspace_data(ws))
    return ws


async def create_import_workspace(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    storage: WorkspaceStorage,
    repo_url: str,
    selector: str,
    name: str | None,
) -> Workspace:
    ws = await _new_workspace(db, actor, settings, name=name, session_type="sandbox", image=None)
    ws.github_repo = selector
    ws.status = "importing"
    await storage.create(disk_id(ws), ws.quota_bytes)
    record(
        db,
        actor,
        "workspace.import",
        "workspace",
        ws.id,
        summary=f"importing {selector} into {ws.name}",
        metadata={"github_repo": selector, "url": repo_url},
    )
    await emit(db, ws.account_id, "workspace.created", workspace_data(ws))
    return ws


async def rename(db: AsyncSession, actor: Actor, ws: Workspace, name: str | None) -> Workspace:
    new_name = validate_name(name) if name is not None else generate_name()
    await _ensure_name_free(db, actor.account_id, new_name, exclude=ws.id)
    old = ws.name
    ws.name, ws.name_key = new_name, new_name.lower()
    record(
        db,
        actor,
        "workspace.name.update",
        "workspace",
        ws.id,
        summary=f"renamed {old} to {new_name}",
        metadata={"old": old, "new": new_name},
    )
    await emit(db, ws.account_id, "workspace.updated", workspace_data(ws))
    return ws


async def set_template(db: AsyncSession, actor: Actor, ws: Workspace, template: bool) -> Workspace:
    ws.template = template
    record(
        db,
        actor,
        "workspace.template.update",
        "workspace",
        ws.id,
        summary=f"{'marked' if template else 'unmarked'} {ws.name} as template",
        metadata={"template": template},
    )
    await emit(db, ws.account_id, "workspace.updated", workspace_data(ws))
    return ws


async def delete_workspace(
    db: AsyncSession,
    actor: Actor,
    storage: WorkspaceStorage,
    ws: Workspace,
    *,
    force: bool,
    terminate: Terminator,
) -> None:
    live = await live_session_id(db, ws)
    if live is not None:
        if not force:
            raise WorkspaceInUse(
                f"Workspace '{ws.name}' has an active session ({live}); terminate it or pass force=true"
            )
        await terminate(db, actor, live)
    for snap in await repo.snapshots(db, ws.id):
        await storage.delete_snapshot(snap.manifest)
    await db.delete(ws)
    await db.flush()
    await storage.delete(disk_id(ws))
    record(db, actor, "workspace.delete", "workspace", ws.id, summary=f"deleted workspace {ws.name}")
    await emit(db, ws.account_id, "workspace.deleted", workspace_data(ws))


async def refresh_size(storage: WorkspaceStorage, ws: Workspace) -> None:
    ws.size_bytes = await storage.usage(disk_id(ws))


def workspace_data(ws: Workspace) -> dict[str, object]:
    """The `data` of the workspace.* webhook events."""
    return {
        "workspace_id": str(ws.id),
        "name": ws.name,
        "session_type": ws.session_type,
        "template": ws.template,
        "size_bytes": ws.size_bytes,
    }


async def collect_snapshot_garbage(storage: WorkspaceStorage, maker: async_sessionmaker[AsyncSession]) -> int:
    """At startup: remove what interrupted snapshots left in the store (temporary blobs,
    manifests no snapshot record names, blobs nothing refers to). Bytes freed."""
    async with maker() as db:
        known = await repo.all_snapshot_manifests(db)
    freed = await storage.collect_garbage(known)
    if freed:
        log.info("snapshot store: removed %d bytes left by interrupted snapshots", freed)
    return freed

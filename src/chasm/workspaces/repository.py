"""SQL of the workspaces domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.kit import pagination
from chasm.kit.pagination import PageParams
from chasm.models import SandboxSession, Workspace, WorkspaceSnapshot

LIVE_STATUSES = ("creating", "running")


async def by_id(db: AsyncSession, account_id: uuid.UUID, ws_id: uuid.UUID) -> Workspace | None:
    result = await db.execute(
        select(Workspace).where(Workspace.account_id == account_id, Workspace.id == ws_id)
    )
    return result.scalar_one_or_none()


async def by_name(db: AsyncSession, account_id: uuid.UUID, name: str) -> Workspace | None:
    result = await db.execute(
        select(Workspace).where(Workspace.account_id == account_id, Workspace.name_key == name.lower())
    )
    return result.scalar_one_or_none()


async def list_for_account(
    db: AsyncSession,
    account_id: uuid.UUID,
    paging: PageParams,
    *,
    template: bool | None = None,
    session_type: str | None = None,
) -> tuple[Sequence[Workspace], int]:
    query = select(Workspace).where(Workspace.account_id == account_id)
    if template is not None:
        query = query.where(Workspace.template == template)
    if session_type is not None:
        query = query.where(Workspace.session_type == session_type)
    return await pagination.fetch(db, query.order_by(Workspace.created_at.desc(), Workspace.id), paging)


async def live_sessions(db: AsyncSession, workspace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """{workspace_id: live session id} for the given workspaces."""
    if not workspace_ids:
        return {}
    result = await db.execute(
        select(SandboxSession.workspace_id, SandboxSession.id).where(
            SandboxSession.workspace_id.in_(list(workspace_ids)),
            SandboxSession.status.in_(LIVE_STATUSES),
        )
    )
    return {row[0]: row[1] for row in result.all() if row[0] is not None}


async def account_usage(db: AsyncSession, account_id: uuid.UUID) -> int:
    result = await db.execute(
        select(func.coalesce(func.sum(Workspace.size_bytes), 0)).where(Workspace.account_id == account_id)
    )
    return int(result.scalar_one())


async def account_allocated(db: AsyncSession, account_id: uuid.UUID) -> int:
    """The sum of the quotas of an account's workspaces (what its disks may grow to)."""
    result = await db.execute(
        select(func.coalesce(func.sum(Workspace.quota_bytes), 0)).where(Workspace.account_id == account_id)
    )
    return int(result.scalar_one())


def _snapshots(workspace_id: uuid.UUID) -> Select[WorkspaceSnapshot]:
    return (
        select(WorkspaceSnapshot)
        .where(WorkspaceSnapshot.workspace_id == workspace_id)
        .order_by(WorkspaceSnapshot.created_at.desc(), WorkspaceSnapshot.id)
    )


async def snapshot_page(
    db: AsyncSession, workspace_id: uuid.UUID, paging: PageParams
) -> tuple[Sequence[WorkspaceSnapshot], int]:
    return await pagination.fetch(db, _snapshots(workspace_id), paging)


async def snapshots(db: AsyncSession, workspace_id: uuid.UUID) -> Sequence[WorkspaceSnapshot]:
    return (await db.execute(_snapshots(workspace_id))).scalars().all()


async def snapshot_by_name(db: AsyncSession, workspace_id: uuid.UUID, name: str) -> WorkspaceSnapshot | None:
    result = await db.execute(
        select(WorkspaceSnapshot).where(
            WorkspaceSnapshot.workspace_id == workspace_id, WorkspaceSnapshot.name == name
        )
    )
    return result.scalar_one_or_none()


async def all_snapshot_manifests(db: AsyncSession) -> set[str]:
    """The manifest reference of every recorded snapshot (all accounts: for store recovery)."""
    result = await db.execute(select(WorkspaceSnapshot.manifest))
    return {row[0] for row in result.all()}

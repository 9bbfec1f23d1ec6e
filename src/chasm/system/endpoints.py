"""System routes on both chat prefixes: health, info, settings, vacuum, cache clearing."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from chasm import __version__
from chasm.auth.deps import ChatReader, SettingsWriter, SystemAdmin
from chasm.kit.deps import DbSession
from chasm.kit.envelope import ok
from chasm.system import service
from chasm.system.schemas import ChatSettingsUpdate

router = APIRouter(tags=["System"])


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Server status, version and uptime."""
    uptime = int(time.monotonic() - request.app.state.started_monotonic)
    return ok({"status": "healthy", "version": __version__, "uptime_seconds": uptime})


@router.get("/system/info")
async def system_info(request: Request, actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """Version, database size and the library's chat, workspace and provider counts."""
    state = request.app.state
    return ok(await service.system_info(session, actor, state.engine, state.started_monotonic))


@router.post("/system/vacuum")
async def vacuum_database(request: Request, actor: SystemAdmin, session: DbSession) -> dict[str, Any]:
    """Compact the database (VACUUM on SQLite, VACUUM ANALYZE on PostgreSQL)."""
    return ok(await service.vacuum(session, actor, request.app.state.engine))


@router.post("/system/cache/clear")
async def clear_cache(actor: SystemAdmin, session: DbSession) -> dict[str, Any]:
    """Empty the server's in-process caches and report what was cleared."""
    return ok(await service.clear_caches(session, actor))


@router.get("/settings", tags=["Settings"])
async def get_settings(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """The account's chat library settings (defaults where never set)."""
    return ok(await service.get_settings(session, actor))


@router.put("/settings", tags=["Settings"])
async def update_settings(
    actor: SettingsWriter, session: DbSession, body: ChatSettingsUpdate
) -> dict[str, Any]:
    """Change the given settings; unknown fields are refused with 422."""
    return ok(await service.update_settings(session, actor, body))

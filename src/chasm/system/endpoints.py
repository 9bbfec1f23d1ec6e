"""System routes on both chat surfaces: health, info, settings, vacuum, cache clearing."""

from __future__ import annotations

import time

from fastapi import Request

from chasm import __version__
from chasm.auth.deps import ChatReader, SettingsWriter, SystemAdmin
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.surface import ChatRouter
from chasm.system import service
from chasm.system.schemas import (
    CachesCleared,
    ChatSettingsDoc,
    ChatSettingsUpdate,
    HealthResponse,
    SystemInfo,
    VacuumResult,
)

health_routes = ChatRouter(tag=Tag.HEALTH)
routes = ChatRouter(tag=Tag.SYSTEM)
settings_routes = ChatRouter(tag=Tag.SETTINGS)


@health_routes.get("/health", model=HealthResponse)
async def health(request: Request) -> HealthResponse:
    """Server status, version and uptime."""
    uptime = int(time.monotonic() - request.app.state.started_monotonic)
    return HealthResponse(status="healthy", version=__version__, uptime_seconds=uptime)


@routes.get("/system/info", model=SystemInfo)
async def system_info(request: Request, actor: ChatReader, db: DbSession) -> SystemInfo:
    """Version, database size and the library's chat, workspace and provider counts."""
    state = request.app.state
    return await service.system_info(db, actor, state.engine, state.started_monotonic)


@routes.post("/system/vacuum", model=VacuumResult)
async def vacuum_database(request: Request, actor: SystemAdmin, db: DbSession) -> VacuumResult:
    """Compact the database (VACUUM on SQLite, VACUUM ANALYZE on PostgreSQL)."""
    return await service.vacuum(db, actor, request.app.state.engine)


@routes.post("/system/cache/clear", model=CachesCleared)
async def clear_cache(actor: SystemAdmin, db: DbSession) -> CachesCleared:
    """Empty the server's in-process caches and report what was cleared."""
    return await service.clear_caches(db, actor)


@settings_routes.get("/settings", model=ChatSettingsDoc)
async def get_settings(actor: ChatReader, db: DbSession) -> ChatSettingsDoc:
    """The account's chat library settings (defaults where never set)."""
    return await service.get_settings(db, actor)


@settings_routes.put("/settings", model=ChatSettingsDoc)
async def update_settings(actor: SettingsWriter, db: DbSession, body: ChatSettingsUpdate) -> ChatSettingsDoc:
    """Change the given settings; unknown fields are refused with 400."""
    return await service.update_settings(db, actor, body)

"""Chat settings per account, system information, database upkeep and cache clearing."""

from __future__ import annotations

import time
import uuid
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chasm import __version__
from chasm.audit.service import record
from chasm.auth.actor import Actor, require_instance_admin
from chasm.kit import caches
from chasm.kit.timeutil import utcnow
from chasm.models import ChatSettings
from chasm.system import repository as repo
from chasm.system.schemas import (
    CachesCleared,
    ChatSettingsDoc,
    ChatSettingsUpdate,
    SystemInfo,
    VacuumResult,
)

HARVEST_SOURCES_GROUP = "chasm.harvest_sources"


def _document(stored: dict[str, Any] | None) -> ChatSettingsDoc:
    """The stored document over the defaults; fields a newer schema dropped are ignored."""
    data = dict(stored or {})
    known = {k: v for k, v in data.items() if k in ChatSettingsDoc.model_fields}
    try:
        return ChatSettingsDoc.model_validate(known)
    except ValidationError:
        return ChatSettingsDoc()


def _visible(data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Harvest roots are folders on the server: shown only to instance administrators."""
    if actor.instance_admin:
        return data
    return {**data, "harvest": {**data["harvest"], "roots": {}}}


async def get_settings(db: AsyncSession, actor: Actor) -> ChatSettingsDoc:
    row = await repo.get_settings_row(db, actor.account_id)
    return ChatSettingsDoc.model_validate(_visible(_document(row.data if row else None).model_dump(), actor))


# Watching the server's folders (chasm.watch) is the instance administrators' like harvesting them.
WATCH_FIELDS = ("auto_harvest", "harvest_interval_minutes")


def _keep_server_fields(actor: Actor, current: ChatSettingsDoc, changes: dict[str, Any]) -> None:
    """Drop from a non-administrator's update the fields that read the server's own folders, and
    refuse it if it would change one. A document sent back as GET showed it changes nothing."""
    if "harvest" in changes:
        if any(changes["harvest"].get("roots", {}).values()):
            require_instance_admin(actor, "set harvest roots (folders on the server)")
        del changes["harvest"]
    for name in WATCH_FIELDS:
        if name in changes:
            if changes[name] != getattr(current, name):
                require_instance_admin(actor, f"set {name} (watching the server's folders)")
            del changes[name]


async def update_settings(db: AsyncSession, actor: Actor, update: ChatSettingsUpdate) -> ChatSettingsDoc:
    row = await repo.get_settings_row(db, actor.account_id)
    current = _document(row.data if row else None)
    changes = update.model_dump(exclude_unset=True, exclude_none=True)
    if not actor.instance_admin:
        _keep_server_fields(actor, current, changes)
    merged = ChatSettingsDoc.model_validate({**current.model_dump(), **changes})
    data = merged.model_dump()
    if row is None:
        db.add(ChatSettings(account_id=actor.account_id, data=data))
    else:
        row.data = data
        row.updated_at = utcnow()
    record(
        db,
        actor,
        "settings.update",
        "chat_settings",
        actor.account_id,
        metadata={"fields": sorted(changes)},
    )
    return ChatSettingsDoc.model_validate(_visible(data, actor))


async def harvest_roots(db: AsyncSession, account_id: uuid.UUID) -> dict[str, list[str]]:
    """Extra harvest folders per provider id, as configured in the account's settings."""
    row = await repo.get_settings_row(db, account_id)
    return _document(row.data if row else None).harvest.roots


def harvest_source_names() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=HARVEST_SOURCES_GROUP)})


async def system_info(db: AsyncSession, actor: Actor, engine: AsyncEngine, started: float) -> SystemInfo:
    """Spec 001 SystemInfo, plus the database backend and uptime."""
    chats, workspaces, providers_used = await repo.library_counts(db, actor.account_id)
    return SystemInfo(
        version=__version__,
        database_size_bytes=await repo.database_size(engine),
        session_count=chats,
        workspace_count=workspaces,
        provider_count=len(harvest_source_names()),
        providers_with_sessions=providers_used,
        database_backend=engine.dialect.name,
        uptime_seconds=int(time.monotonic() - started),
    )


async def vacuum(db: AsyncSession, actor: Actor, engine: AsyncEngine) -> VacuumResult:
    """Compact and re-analyse the database; report the sizes before and after."""
    require_instance_admin(actor, "maintain the server's database")
    before = await repo.database_size(engine)
    started = time.perf_counter()
    outcome = await repo.vacuum(engine)
    result = {
        **outcome,
        "backend": engine.dialect.name,
        "size_before_bytes": before,
        "size_after_bytes": await repo.database_size(engine),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    record(db, actor, "system.vacuum", "database", engine.dialect.name, metadata=result)
    return VacuumResult.model_validate(result)


async def clear_caches(db: AsyncSession, actor: Actor) -> CachesCleared:
    """Empty the server's in-process caches and say how many entries each held."""
    require_instance_admin(actor, "clear the server's caches")
    cleared = caches.clear_all()
    record(db, actor, "system.cache_clear", "cache", None, metadata={"cleared": cleared})
    return CachesCleared(cleared=cleared, entries=sum(cleared.values()))

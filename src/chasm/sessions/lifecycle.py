"""The sandbox lifespan: driver and storage, recovery at start, and the reaper."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.config import Settings
from chasm.exec.commands import CommandRegistry
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.kit.node import node_id
from chasm.kit.timeutil import utcnow
from chasm.models import SandboxSession
from chasm.sessions import ephemeral
from chasm.sessions import repository as repo
from chasm.sessions.drivers.base import SandboxDriver, SandboxInfo
from chasm.sessions.leases import LeaseRegistry
from chasm.sessions.pool import WarmPool
from chasm.sessions.runtime import SandboxRuntime
from chasm.sessions.service import end_session, unseal_state
from chasm.sessions.terminals import TerminalRegistry
from chasm.workspaces.service import collect_snapshot_garbage
from chasm.workspaces.storage import DiskStorage

log = logging.getLogger("chasm.sessions")


def make_driver(settings: Settings) -> SandboxDriver:
    """`bubblewrap` (the default), or `package.module:Class` for a driver shipped elsewhere
    (a microVM or Kubernetes driver): any class taking the settings and implementing SandboxDriver."""
    name = settings.sandbox_driver
    if name == "bubblewrap":
        from chasm.sessions.drivers.bubblewrap import BubblewrapDriver

        return BubblewrapDriver(settings)
    driver: SandboxDriver = _load(name, settings, "sandbox driver")
    return driver


def _load(name: str, settings: Settings, what: str) -> Any:
    module_name, sep, class_name = name.partition(":")
    if not sep:
        raise ChasmError(f"unknown {what} '{name}'", code="unknown_backend")
    return getattr(importlib.import_module(module_name), class_name)(settings)


async def recover(runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession]) -> None:
    """Sessions whose machines did not survive the restart are marked terminated."""
    async with transaction(maker) as db:
        rows = await repo.all_live(db, runtime.node_id)
        live = {
            str(row.id): SandboxInfo(
                str(row.id),
                int((row.driver_state or {}).get("pid") or 0),
                unseal_state(runtime.settings.secret_key or "", row.driver_state or {}),
            )
            for row in rows
        }
        gone = await runtime.driver.recover(live)
        for row in rows:
            reason = gone.get(str(row.id))
            if reason is None and row.status == "creating":
                reason = "server_restart"  # never finished starting
            if reason is not None:
                await end_session(runtime, row, reason)
                _audit_end(db, row, reason)
            else:
                runtime.leases.touch(str(row.id))
        still_live = {str(row.id) for row in rows if row.status == "running"}
    # Workspaces of ephemeral sessions that died with a crashed server (or of its warm sandboxes).
    ephemeral.remove_strays(runtime.settings, still_live | runtime.pool.session_ids())
    if gone:
        log.info("marked %d sandbox session(s) terminated after restart", len(gone))


async def shutdown(runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession]) -> None:
    """No sandbox outlives the server: stop them all and say why."""
    async with transaction(maker) as db:
        for row in await repo.all_live(db, runtime.node_id):
            await end_session(runtime, row, "server_restart")
            _audit_end(db, row, "server_restart")


def _audit_end(db: AsyncSession, row: SandboxSession, reason: str) -> None:
    record(
        db,
        None,
        "session.terminate",
        "session",
        row.id,
        account_id=row.account_id,
        metadata={"reason": reason},
    )


def _seconds_since(value: datetime | None, now: datetime) -> float | None:
    return None if value is None else (now - value).total_seconds()


async def _verdict(runtime: SandboxRuntime, row: SandboxSession, now: datetime) -> str | None:
    settings = runtime.settings
    sid = str(row.id)
    age = _seconds_since(row.started_at or row.created_at, now) or 0.0
    if age > settings.session_max_lifetime_s:
        return "max_lifetime"
    idle_db = _seconds_since(row.last_activity_at or row.started_at, now)
    idle_mem = runtime.leases.idle_for(sid)
    idle = min(x for x in (idle_db, idle_mem, age) if x is not None)
    if idle > settings.session_idle_timeout_s:
        return "idle_timeout"
    if row.status != "running":
        return None
    status = await runtime.driver.status(sid)
    if status.oom_killed:
        return "out_of_memory"
    if not status.running:
        return "error"
    return None


async def reap_once(runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession]) -> list[str]:
    """End the sessions that idled out, outlived their maximum, ran out of memory or died."""
    ended: list[str] = []
    async with transaction(maker) as db:
        now = utcnow()
        for row in await repo.all_live(db, runtime.node_id):
            reason = await _verdict(runtime, row, now)
            if reason is not None:
                await end_session(runtime, row, reason)
                _audit_end(db, row, reason)
                ended.append(str(row.id))
    return ended


async def _reaper(runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession]) -> None:
    while True:
        await asyncio.sleep(runtime.settings.session_reaper_interval_s)
        try:
            await reap_once(runtime, maker)
        except Exception:
            log.exception("session reaper failed; retrying")


@asynccontextmanager
async def sandbox_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    driver = make_driver(settings)
    storage = DiskStorage(settings)
    runtime = SandboxRuntime(
        settings=settings,
        driver=driver,
        storage=storage,
        leases=LeaseRegistry(),
        commands=CommandRegistry(
            settings.data_dir / "sandboxes" / "commands", settings.command_output_max_bytes
        ),
        terminals=TerminalRegistry(),
        pool=WarmPool(settings, driver),
        node_id=node_id(settings.data_dir),
    )
    app.state.sandbox = runtime
    app.state.sandbox_driver = driver
    app.state.workspace_storage = storage
    await recover(runtime, app.state.sessionmaker)
    await collect_snapshot_garbage(storage, app.state.sessionmaker)
    reaper = asyncio.create_task(_reaper(runtime, app.state.sessionmaker), name="session-reaper")
    try:
        yield
    finally:
        reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reaper
        await runtime.close()
        await shutdown(runtime, app.state.sessionmaker)
        # Disks are loop mounts: leave none behind; mount() brings each back on next use.
        await storage.unmount_all()

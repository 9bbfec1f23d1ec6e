"""The sandbox lifespan: the runtime (`chasm.sandbox.runtime.build_runtime`), then what touches
the session rows: recovery at start, the reaper, and ending every session at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.billing import hooks as billing
from chasm.jobs.runtime import after_commit
from chasm.kit.db import transaction
from chasm.kit.events import EventBus
from chasm.kit.timeutil import utcnow
from chasm.models import SandboxSession
from chasm.sandbox import ephemeral
from chasm.sandbox.commands import BackgroundCommand
from chasm.sandbox.drivers.base import SandboxInfo
from chasm.sandbox.runtime import SandboxRuntime, build_runtime
from chasm.sessions import repository as repo
from chasm.sessions.machine import unseal_state
from chasm.sessions.service import end_session, terminate_for_workspace
from chasm.workspaces.service import collect_snapshot_garbage

log = logging.getLogger("chasm.sessions")
ORPHAN_GRACE_S = 60.0


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
            if reason is None and row.session_type == "browser":
                reason = "server_restart"  # its Chromium was this process's child: not re-adopted
            if reason is not None:
                await end_session(runtime, row, reason)
                _audit_end(db, row, reason)
            else:
                runtime.leases.touch(str(row.id))
        still_live = {str(row.id) for row in rows if row.status == "running"}
    # Workspaces of ephemeral sessions that died with a crashed server (or of its warm sandboxes).
    ephemeral.remove_strays(runtime.settings, still_live | runtime.pool.session_ids())
    # Background commands of the re-adopted sessions: listed, streamed and killed as before.
    runtime.commands.remove_strays(still_live)
    for sid in sorted(still_live):
        await runtime.commands.load(runtime.driver, sid)
    if gone:
        log.info("marked %d sandbox session(s) terminated after restart", len(gone))


async def shutdown(
    runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession], *, owner: bool = True
) -> None:
    """No sandbox outlives the server: stop them all and say why, then anything without a row
    (and the mounts of ephemeral workspaces). A `chasm worker` (not the owner of the data dir)
    stops only the sandboxes it started itself."""
    async with transaction(maker) as db:
        for row in await repo.all_live(db, runtime.node_id):
            if not owner and not (await runtime.driver.status(str(row.id))).running:
                continue  # the server's
            await end_session(runtime, row, "server_restart")
            _audit_end(db, row, "server_restart")
    if owner:
        await runtime.driver.reconcile(set())
        ephemeral.remove_strays(runtime.settings, set())


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
    if row.session_type == "browser" and (runtime.browsers.get(sid) is None or runtime.browsers.exited(sid)):
        return "browser_exited"
    return None


async def browser_exited(
    runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession], session_id: str, exit_code: int
) -> None:
    """The registry's `on_exit`: Chromium died under a running session (killed, crashed, out of
    memory): the session ends at once, saying so."""
    async with transaction(maker) as db:
        row = await repo.get_any(db, uuid.UUID(session_id))
        if row is None or row.status != "running":
            return
        oom = (await runtime.driver.status(session_id)).oom_killed
        reason = "out_of_memory" if oom else "browser_exited"
        await end_session(runtime, row, reason)
        _audit_end(db, row, reason)
        log.info("session %s ended: Chromium exited (%s)", session_id, exit_code)


COMMAND_EXITED = "command.exited"  # the bus topic: {"account_id", ...the webhook payload}
_publishing: set[asyncio.Task[None]] = set()


async def command_exited(
    maker: async_sessionmaker[AsyncSession], bus: EventBus | None, entry: BackgroundCommand
) -> None:
    """The command registry's `on_exit`: a background command ended. Its `command.exited` event is
    written to the webhook outbox in a transaction of its own, and published on the bus after the
    commit."""
    assert entry.report_to is not None
    account_id = uuid.UUID(entry.report_to)
    data = billing.command_data(
        entry.session_id, entry.id, entry.command, entry.exit_code, entry.status, entry.duration_ms
    )
    async with transaction(maker) as db:
        await billing.background_command_exited(db, account_id, data)
        if bus is not None:
            payload = {"account_id": str(account_id), **data}

            def publish() -> None:
                task = asyncio.get_running_loop().create_task(bus.publish(COMMAND_EXITED, payload))
                _publishing.add(task)
                task.add_done_callback(_publishing.discard)

            after_commit(db, publish)


async def reap_once(runtime: SandboxRuntime, maker: async_sessionmaker[AsyncSession]) -> list[str]:
    """End the sessions that idled out, outlived their maximum, ran out of memory or died; then
    stop the sandboxes this server runs that no live row owns (a start whose row was rolled
    back), once unused for ORPHAN_GRACE_S (a start in progress has no committed row yet)."""
    ended: list[str] = []
    async with transaction(maker) as db:
        now = utcnow()
        rows = await repo.all_live(db, runtime.node_id)
        for row in rows:
            reason = await _verdict(runtime, row, now)
            if reason is not None:
                await end_session(runtime, row, reason)
                _audit_end(db, row, reason)
                ended.append(str(row.id))
    keep = {str(row.id) for row in rows} | runtime.pool.session_ids()
    keep |= runtime.leases.active_within(ORPHAN_GRACE_S)
    for sid in await runtime.driver.reconcile(keep, attached_only=True, min_age_s=ORPHAN_GRACE_S):
        await runtime.release(sid)
        if ephemeral.path(runtime.settings, sid).exists():
            ephemeral.remove(runtime.settings, sid)
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
    runtime = build_runtime(app.state.settings)
    storage = runtime.storage
    app.state.sandbox = runtime
    app.state.sandbox_driver = runtime.driver
    app.state.workspace_storage = storage
    app.state.workspace_terminator = partial(terminate_for_workspace, runtime)
    runtime.browsers.on_exit = partial(browser_exited, runtime, app.state.sessionmaker)
    runtime.commands.on_exit = partial(
        command_exited, app.state.sessionmaker, getattr(app.state, "events", None)
    )
    # Only the server owns the sandboxes of the data dir (it holds its lock): a `chasm worker`
    # beside it must not end the server's sessions as strays, reap them, or stop them.
    owner = getattr(app.state, "role", "server") == "server"
    if owner:
        await recover(runtime, app.state.sessionmaker)
        await collect_snapshot_garbage(storage, app.state.sessionmaker)
        reaper = asyncio.create_task(_reaper(runtime, app.state.sessionmaker), name="session-reaper")
    try:
        yield
    finally:
        if owner:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
        await runtime.close()
        await shutdown(runtime, app.state.sessionmaker, owner=owner)
        if owner:
            # Disks are loop mounts: leave none behind; mount() brings each back on next use.
            await storage.unmount_all()

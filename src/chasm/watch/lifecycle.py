"""The server's live harvest: for every account whose chat settings say `auto_harvest` and whose
owners are all instance administrators (watching the server's own folders is theirs only, as is
`POST /harvest`), a `Watcher` follows the harvest roots, with a full harvest every
`harvest_interval_minutes` besides. The settings are read again every `POLL_S` seconds (or when
`app.state.watch_poke` is set), so
turning `auto_harvest` on or off takes effect without a restart. Run by the server, not by
`chasm worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from chasm.auth import repository as auth_repo
from chasm.system import repository as system_repo
from chasm.watch.watcher import Watcher

log = logging.getLogger("chasm.watch")
POLL_S = 30.0


@dataclass
class _Running:
    watcher: Watcher
    stop: asyncio.Event
    task: asyncio.Task[None]
    interval_minutes: int


async def wanted_accounts(app: FastAPI) -> dict[uuid.UUID, int]:
    """Accounts to watch, with their fallback interval in minutes."""
    async with app.state.sessionmaker() as db:
        rows = await system_repo.all_settings(db)
        on = {account: data for account, data in rows if isinstance(data, dict) and data.get("auto_harvest")}
        if not on:
            return {}
        admins = await auth_repo.instance_admin_owned(db, list(on))
    out = {}
    for account, data in on.items():
        if account in admins:
            minutes = data.get("harvest_interval_minutes")
            out[account] = minutes if isinstance(minutes, int) and minutes > 0 else 60
    return out


async def supervise(app: FastAPI, running: dict[uuid.UUID, _Running], poke: asyncio.Event) -> None:
    while True:
        poke.clear()
        try:
            wanted = await wanted_accounts(app)
        except Exception:
            log.exception("auto harvest: could not read the settings")
            wanted = {a: r.interval_minutes for a, r in running.items()}
        for account, current in list(running.items()):
            if wanted.get(account) != current.interval_minutes or current.task.done():
                current.stop.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(current.task, 30)
                del running[account]
        for account, minutes in wanted.items():
            if account not in running:
                watcher = Watcher(
                    app.state.sessionmaker,
                    app.state.settings,
                    account,
                    bus=getattr(app.state, "events", None),
                    interval_s=minutes * 60.0,
                )
                stop = asyncio.Event()
                task = asyncio.create_task(watcher.run(stop), name=f"chasm-watch-{account}")
                running[account] = _Running(watcher, stop, task, minutes)
                log.info("auto harvest on for account %s (every %d min besides the watch)", account, minutes)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poke.wait(), POLL_S)


@asynccontextmanager
async def watch_lifespan(app: FastAPI) -> AsyncIterator[None]:
    if getattr(app.state, "role", "server") != "server":
        yield
        return
    running: dict[uuid.UUID, _Running] = {}
    app.state.watchers = running
    app.state.watch_poke = poke = asyncio.Event()  # set: read the settings again now
    supervisor = asyncio.create_task(supervise(app, running, poke), name="chasm-watch")
    try:
        yield
    finally:
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor
        for current in running.values():
            current.stop.set()
        for current in running.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(current.task, 10)

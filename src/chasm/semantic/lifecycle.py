"""The server's semantic indexer: messages stored by a harvest, a watch update, a recording or the
API are embedded in the background. Library events on the bus (chasm.realtime.topics) name the
account to index; a sweep every SWEEP_S seconds (and one at start) catches writes that announce
nothing. An event naming a chat has that chat's messages looked at; a sweep, the whole account's.
What is left to embed is read from the database (messages without chunks), so a restart loses
nothing and several processes share the work (a chunk is stored once: a unique key).

Embedding gives way to writes: it starts once the library has been quiet for QUIET_S (no library
event, and no recording request taken or being written: `kit.activity`) and waits for such a pause
again before each batch, so that a recording burst or a harvest has the CPU to itself (its
messages are searchable by words at once; by meaning once the burst pauses). Staleness is bounded:
writes that never pause let a batch through once MAX_DEFER_S have passed if they keep the
recording writer busy a quarter of the time at most (a slow steady stream, not a burst), and after
MAX_STALE_S whatever they do. Its thread also
runs at the lowest CPU priority (embedders)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chasm.kit.activity import WriteActivity
from chasm.kit.errors import ChasmError
from chasm.semantic import repository as repo
from chasm.semantic import service
from chasm.semantic.embedders import from_settings
from chasm.semantic.index import Indexes

log = logging.getLogger("chasm.semantic")

SWEEP_S = 300.0
QUIET_S = 0.25  # no write for this long: the writes have paused, embedding may run
MAX_DEFER_S = 30.0  # under writes that never pause, a batch may run this often if they are light
LIGHT = 0.25  # light writes: a write under way this part of the time at most
MAX_STALE_S = 300.0  # and this often whatever the writes (a burst that never ends)
POLL_S = 0.25  # how often a waiting indexer looks again


class Indexer:
    def __init__(self, app: FastAPI, engine: service.Engine) -> None:
        self.app = app
        self.engine = engine
        self.activity: WriteActivity = app.state.write_activity
        self.dirty: dict[uuid.UUID, set[uuid.UUID] | None] = {}  # account -> chats (None: all)
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()  # set while nothing is waiting to be embedded
        self.idle.set()
        self.last_write = 0.0  # time.monotonic() of the last library event seen

    async def quiet(self) -> None:
        """Until the writes have paused for QUIET_S; or, when they never do, until MAX_DEFER_S have
        passed with light writes, or MAX_STALE_S whatever they are."""
        started = time.monotonic()
        activity = self.activity
        busy_before = activity.busy_seconds()
        while True:
            now = time.monotonic()
            idle = min(now - self.last_write, activity.idle_for())
            waited = now - started
            if idle >= QUIET_S or waited >= MAX_STALE_S:
                return
            # How busy the recording writer was while this waited: a burst, or a light stream.
            if waited >= MAX_DEFER_S and activity.busy_seconds() - busy_before < LIGHT * waited:
                return
            await asyncio.sleep(min(max(QUIET_S - idle, 0.01), POLL_S))

    def poke(self, account_id: uuid.UUID, chat_id: uuid.UUID | None = None) -> None:
        self.last_write = time.monotonic()
        if chat_id is None:
            self.dirty[account_id] = None
        elif account_id not in self.dirty:
            self.dirty[account_id] = {chat_id}
        elif (chats := self.dirty[account_id]) is not None:
            chats.add(chat_id)
        self.idle.clear()
        self.wake.set()

    async def sweep(self) -> None:
        maker = self.app.state.sessionmaker
        async with maker() as db:
            for account_id in await repo.accounts_with_pending(db, self.engine.embedder.name):
                self.poke(account_id)

    async def listen(self) -> None:
        async with self.app.state.events.subscribe("library.*") as events:
            async for event in events:
                self.last_write = time.monotonic()
                account = event.payload.get("account_id")
                chat = event.payload.get("chat_id")
                if account and event.topic != "library.chat.deleted":
                    with contextlib.suppress(ValueError):
                        self.poke(uuid.UUID(str(account)), uuid.UUID(str(chat)) if chat else None)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), SWEEP_S)
            except TimeoutError:
                await self._guard(self.sweep())
                continue
            await self.quiet()  # a burst's messages arrive first, then are embedded together
            self.wake.clear()
            while self.dirty:
                account_id, chats = self.dirty.popitem()
                only = sorted(chats) if chats is not None else None
                await self._guard(
                    service.index_pending(
                        self.app.state.sessionmaker, self.engine.embedder, account_id, only, self.quiet
                    )
                )
            if not self.wake.is_set():
                self.idle.set()

    async def _guard(self, work: object) -> None:
        try:
            await work  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except ChasmError as exc:  # the model is missing: searches say so (503); retried next sweep
            log.warning("semantic indexing: %s", exc.message)
        except Exception:
            log.exception("semantic indexing failed; retried at the next update or sweep")


@asynccontextmanager
async def semantic_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """`app.state.semantic`: the engine (or the error that says why there is none) and its indexer."""
    settings = app.state.settings
    failure: ChasmError | None = None
    try:
        engine = service.Engine(from_settings(settings), Indexes(settings.data_dir / "semantic"))
    except ChasmError as exc:
        failure = exc
    if failure is not None:
        app.state.semantic = failure  # searches answer with it (503)
        yield
        return
    indexer = Indexer(app, engine)
    app.state.semantic = engine
    app.state.semantic_indexer = indexer
    tasks = [
        asyncio.create_task(indexer.run(), name="chasm-semantic-indexer"),
        asyncio.create_task(indexer.listen(), name="chasm-semantic-listener"),
    ]
    await indexer.sweep()
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = getattr(engine.embedder, "close", None)
        if close is not None:
            close()

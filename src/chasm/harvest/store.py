"""Every statement the harvest writes (and the reads that decide them), on one account's library.

On SQLite the writes run in a thread on a plain sqlite3 connection (`kit.db`'s sync engine, set
up by the server's `sqlite_pragmas`), so their statements do not each hop to aiosqlite's thread,
and new rows go in as multi-row inserts (`rows.SqliteInserter`). Elsewhere they run on the async
engine. A batch of units is stored in one transaction (`store_units.UnitWriter`); should that
fail, each unit again in its own savepoint, so a unit that cannot be stored rolls back alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chasm.harvest.prepare import Outcome
from chasm.harvest.rows import CHAT_COLUMNS, MESSAGE_COLUMNS, SqliteInserter, json_text
from chasm.harvest.store_units import UnitResult, UnitWriter
from chasm.harvest.units import Job, StoredUnit
from chasm.kit.db import create_sqlite_sync_engine
from chasm.kit.timeutil import utcnow
from chasm.models import Chat, ChatMessage, ChatWorkspace, HarvestFile

CHUNK = 500  # rows per IN (...) list
# The harvest's writer waits longer for a lock than a request does, and keeps more index pages of a
# large library cached (64 MiB); no memory map. Like every connection's, its commits checkpoint the
# WAL once it holds 64 MiB (`kit.db`; with SQLite's 4 MiB and 32 MB batches, SQLite's CPU time for
# the rows of the 330 MB bench corpus was 1.65 s rather than 1.24 s).
WRITER_PRAGMAS = {
    "busy_timeout_ms": 30_000,
    "cache_kib": 64 * 1024,
    "mmap_bytes": 0,
}
_T = TypeVar("_T")

chats_t = cast(Table, Chat.__table__)
messages_t = cast(Table, ChatMessage.__table__)
workspaces_t = cast(Table, ChatWorkspace.__table__)
files_t = cast(Table, HarvestFile.__table__)


class HarvestStore:
    """The harvest's reads and writes for one account, open between `open` and `close`."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], account_id: uuid.UUID) -> None:
        bind = maker.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("the sessionmaker must be bound to an AsyncEngine")
        self.maker = maker
        self.account_id = account_id
        self._engine = bind
        self._sync_engine: Engine | None = None
        self._units = UnitWriter(account_id)

    @property
    def sqlite(self) -> bool:
        """Writes go through the SQLite inserters (message rows may come encoded, `prepare`)."""
        return self._sync_engine is not None

    async def open(self) -> None:
        self._sync_engine = create_sqlite_sync_engine(self._engine, json_text, **WRITER_PRAGMAS)
        if self._sync_engine is not None:
            self._units = UnitWriter(
                self.account_id,
                SqliteInserter(self._sync_engine, chats_t, CHAT_COLUMNS),
                SqliteInserter(self._sync_engine, messages_t, MESSAGE_COLUMNS),
            )
        async with self.maker() as db:
            result = await db.execute(
                select(workspaces_t.c.id, workspaces_t.c.path, workspaces_t.c.provider).where(
                    workspaces_t.c.account_id == self.account_id
                )
            )
            self._units.workspaces = {(r.path, r.provider or ""): r.id for r in result}

    def close(self) -> None:
        if self._sync_engine is not None:
            self._sync_engine.dispose()
            self._sync_engine = None

    async def _write(self, work: Callable[[Connection], _T]) -> _T:
        """Run `work` in one transaction on a sync connection (in a thread on SQLite)."""
        if self._sync_engine is not None:
            sync_engine = self._sync_engine

            def run() -> _T:
                with sync_engine.begin() as conn:
                    return work(conn)

            return await asyncio.to_thread(run)
        async with self._engine.begin() as conn:
            return await conn.run_sync(work)

    # --- reads -----------------------------------------------------------------------------------

    async def fingerprints(self, provider: str) -> dict[str, tuple[str, bool]]:
        """Every unit's (fingerprint, missing) in one query: deciding that a unit is unchanged reads
        no file."""

        def read(conn: Connection) -> dict[str, tuple[str, bool]]:
            rows = conn.execute(
                select(files_t.c.unit_key, files_t.c.fingerprint, files_t.c.missing).where(
                    files_t.c.account_id == self.account_id, files_t.c.provider == provider
                )
            )
            return {key: (fingerprint, bool(missing)) for key, fingerprint, missing in rows}

        return await self._write(read)

    async def stored_units(self, provider: str, keys: list[str]) -> dict[str, StoredUnit]:
        def read(conn: Connection) -> dict[str, StoredUnit]:
            known: dict[str, StoredUnit] = {}
            for i in range(0, len(keys), CHUNK):
                rows = conn.execute(
                    select(
                        files_t.c.unit_key,
                        files_t.c.fingerprint,
                        files_t.c.size,
                        files_t.c.head_hash,
                        files_t.c.resume_offset,
                        files_t.c.resume_state,
                        files_t.c.chat_source_ids,
                        files_t.c.missing,
                    ).where(
                        files_t.c.account_id == self.account_id,
                        files_t.c.provider == provider,
                        files_t.c.unit_key.in_(keys[i : i + CHUNK]),
                    )
                )
                for r in rows:
                    known[r.unit_key] = StoredUnit(
                        r.fingerprint,
                        r.size,
                        r.head_hash,
                        r.resume_offset,
                        r.resume_state,
                        list(r.chat_source_ids or []),
                        r.missing,
                    )
            return known

        return await self._write(read)

    async def chat_ids(self, provider: str) -> dict[str, uuid.UUID]:
        def read(conn: Connection) -> dict[str, uuid.UUID]:
            rows = conn.execute(
                select(chats_t.c.source_id, chats_t.c.id).where(
                    chats_t.c.account_id == self.account_id, chats_t.c.provider == provider
                )
            )
            return {source_id: chat_id for source_id, chat_id in rows}

        return await self._write(read)

    async def store_units(
        self, provider: str, units: list[tuple[Job, Outcome]], chats: dict[str, uuid.UUID]
    ) -> tuple[list[UnitResult], dict[str, uuid.UUID]]:
        """Store parsed units in one transaction: each unit's result, and the ids of the chats it
        created by source id. Raises when the transaction itself failed (nothing of it is stored)."""
        created: dict[str, uuid.UUID] = {}
        workspaces = dict(self._units.workspaces)
        try:
            results = await self._write(
                lambda conn: self._units.store_batch(conn, provider, units, chats, created)
            )
        except Exception:
            self._units.workspaces = workspaces
            raise
        return results, created

    # --- writes outside the units ------------------------------------------------------------------

    async def flag_missing(self, provider: str, keys: list[str]) -> None:
        """Units whose files are gone, and their chats, flagged missing (never deleted)."""
        gone = [k for k in keys if not Path(k).exists()]
        if not gone:
            return
        async with self.maker() as db, db.begin():
            for i in range(0, len(gone), CHUNK):
                part = gone[i : i + CHUNK]
                where = (
                    files_t.c.account_id == self.account_id,
                    files_t.c.provider == provider,
                    files_t.c.unit_key.in_(part),
                )
                rows = await db.execute(select(files_t.c.chat_source_ids).where(*where))
                source_ids = [sid for r in rows for sid in (r.chat_source_ids or [])]
                await db.execute(update(files_t).where(*where).values(missing=True))
                for j in range(0, len(source_ids), CHUNK):
                    await db.execute(
                        update(chats_t)
                        .where(
                            chats_t.c.account_id == self.account_id,
                            chats_t.c.provider == provider,
                            chats_t.c.source_id.in_(source_ids[j : j + CHUNK]),
                        )
                        .values(source_missing=True)
                    )

    async def link_parents(self, provider: str) -> None:
        parent = chats_t.alias("parent")
        parent_id = (
            select(parent.c.id)
            .where(
                parent.c.account_id == chats_t.c.account_id,
                parent.c.provider == chats_t.c.provider,
                parent.c.source_id == chats_t.c.parent_source_id,
            )
            .scalar_subquery()
        )
        async with self.maker() as db, db.begin():
            await db.execute(
                update(chats_t)
                .where(
                    chats_t.c.account_id == self.account_id,
                    chats_t.c.provider == provider,
                    chats_t.c.parent_source_id.is_not(None),
                    chats_t.c.parent_chat_id.is_(None),
                )
                .values(parent_chat_id=parent_id)
            )

    async def mark_workspaces(self) -> None:
        """The workspaces this harvest stored chats in: harvested now."""
        touched = list(self._units.touched)
        if not touched:
            return
        now = utcnow()
        async with self.maker() as db, db.begin():
            for i in range(0, len(touched), CHUNK):
                await db.execute(
                    update(workspaces_t)
                    .where(workspaces_t.c.id.in_(touched[i : i + CHUNK]))
                    .values(last_harvested=now, updated_at=now)
                )

"""Async SQLAlchemy engine, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, TypeDecorator, event, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chasm.kit import cjk, jsonfast
from chasm.kit.migration_heads import migration_heads
from chasm.kit.timeutil import aware, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on both backends (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return aware(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SQLITE_MMAP_BYTES = 1 << 30  # address space, not memory: the OS page cache backs it
SQLITE_CACHE_KIB = 16 * 1024  # per connection
# A commit checkpoints the WAL once it holds this many pages (64 MiB), not SQLite's 1,000 (4 MiB):
# recording's 2,000-event transactions filled 4 MiB every few commits, and each checkpoint (copy
# and fsync) held the writer 100-150 ms (bench.recording over HTTP: 7,933 and 7,977 events/s with
# 1,000 pages, 8,870 and 10,322 with this, run after run). A cold harvest's batches likewise copy
# their pages a few times in all rather than at every commit.
SQLITE_WAL_CHECKPOINT_PAGES = 16_384


def sqlite_pragmas(
    dbapi_conn: Any,
    *,
    busy_timeout_ms: int = 10_000,
    cache_kib: int = SQLITE_CACHE_KIB,
    mmap_bytes: int = SQLITE_MMAP_BYTES,
    wal_autocheckpoint_pages: int = SQLITE_WAL_CHECKPOINT_PAGES,
) -> None:
    """The settings of every SQLite connection the program opens on its database: WAL, a busy
    timeout, foreign keys; the page cache and memory map sizes per use, and how many pages the WAL
    may grow to before a commit of this connection checkpoints it."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Reads through a memory map skip a read() call and a copy per page: full-text search touches
    # pages all over a large library (FTS doclists, then the few messages and chats of a page).
    cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
    cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint_pages)}")
    cur.close()


def on_sqlite_connect(engine: Engine, **pragmas: int) -> None:
    """Apply `sqlite_pragmas` (with these overrides) to every connection `engine` opens, and
    register the SQL functions the search index calls (`kit.cjk`)."""

    def configure(dbapi_conn: Any, _record: Any) -> None:
        sqlite_pragmas(dbapi_conn, **pragmas)
        cjk.register_sqlite(dbapi_conn)

    event.listen(engine, "connect", configure)


def create_sqlite_sync_engine(
    engine: AsyncEngine, json_serializer: Callable[[Any], str] | None = None, **pragmas: int
) -> Engine | None:
    """A plain (sync, pysqlite) engine on the same SQLite file as `engine`, for bulk work in a thread
    (the harvest's writes); None for PostgreSQL and in-memory databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if json_serializer is not None:
        kwargs["json_serializer"] = json_serializer
    sync = sa_create_engine(url.set(drivername="sqlite"), **kwargs)
    on_sqlite_connect(sync, **pragmas)
    return sync


PRIVATE_FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _private_sqlite_files(path: Path) -> None:
    """The database, its WAL and shared-memory index readable by the server's user only
    (SQLite gives the -wal and -shm files the mode of the database file)."""
    for suffix in SQLITE_SUFFIXES:
        with suppress(FileNotFoundError, PermissionError):
            os.chmod(f"{path}{suffix}", PRIVATE_FILE_MODE)


def load_json(text: str) -> Any:
    """A JSON column's value as stored, as the json module reads it, by orjson where the two agree
    (`kit.jsonfast`: several times faster; a long chat's answer decodes two columns per message)."""
    if text == "null":  # a None written to a JSON column
        return None
    return jsonfast.loads(text)


def create_engine(url: str, schema: str | None = None) -> AsyncEngine:
    kwargs: dict[str, Any] = {"pool_pre_ping": False, "json_deserializer": load_json}
    db_file: Path | None = None
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            db_file = Path(path.split("?", 1)[0])
            db_file.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 before SQLite opens it (SQLite would use 0644 under a usual umask).
            os.close(os.open(db_file, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
            _private_sqlite_files(db_file)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    if url.startswith("sqlite+aiosqlite:"):
        from chasm.kit import sqlite_driver  # registers the one-hop variant of the aiosqlite dialect

        url = f"sqlite+{sqlite_driver.DRIVER}:" + url[len("sqlite+aiosqlite:") :]
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        on_sqlite_connect(engine.sync_engine)
        if db_file is not None:
            private = db_file

            def _private(_dbapi_conn: Any, _record: Any) -> None:
                _private_sqlite_files(private)  # after the pragmas: WAL files exist by now

            event.listen(engine.sync_engine, "connect", _private)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "heads")


MIGRATION_LOCK_ID = 0x63686173  # "chas": serialises migrations of concurrently starting servers


async def schema_is_current(engine: AsyncEngine) -> bool:
    """Whether the database is at every head already (then `migrate` has nothing to do)."""
    try:
        async with engine.connect() as conn:
            current = {row[0] for row in await conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # noqa: BLE001 - no version table yet (a fresh database), or unreadable: migrate
        return False
    heads = migration_heads()
    return bool(heads) and current == heads


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending Alembic migration (the server and local CLI commands call this).

    When the database is at every head already it returns after one query. On PostgreSQL a
    transaction-level advisory lock makes servers and workers that start together migrate one
    after the other; SQLite serialises writers by itself.
    """
    if await schema_is_current(engine):
        return
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        await conn.run_sync(_upgrade)


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request: commit on success, roll back on error."""
    async with maker() as db:
        try:
            yield db
            await db.commit()
        except BaseException:
            await db.rollback()
            raise

"""One SQLite connection setup: the server's async engine and the harvest's sync writer both get
`sqlite_pragmas`, the writer with its own timeout and cache."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from chasm.harvest.store import WRITER_PRAGMAS
from chasm.kit.db import SQLITE_CACHE_KIB, SQLITE_MMAP_BYTES, create_engine, create_sqlite_sync_engine

QUERIES = (
    "journal_mode",
    "busy_timeout",
    "synchronous",
    "foreign_keys",
    "mmap_size",
    "cache_size",
    "wal_autocheckpoint",
)


async def test_server_and_harvest_connections_share_one_setup(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    writer = create_sqlite_sync_engine(engine, **WRITER_PRAGMAS)
    assert writer is not None
    try:
        async with engine.connect() as conn:
            server = [(await conn.execute(text(f"PRAGMA {q}"))).scalar() for q in QUERIES]
        with writer.connect() as conn:
            harvest = [conn.execute(text(f"PRAGMA {q}")).scalar() for q in QUERIES]
    finally:
        writer.dispose()
        await engine.dispose()
    assert server == ["wal", 10_000, 1, 1, SQLITE_MMAP_BYTES, -SQLITE_CACHE_KIB, 16_384]
    assert harvest == ["wal", 30_000, 1, 1, 0, -64 * 1024, 16_384]


async def test_no_sync_engine_for_memory_databases() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert create_sqlite_sync_engine(engine) is None
    finally:
        await engine.dispose()

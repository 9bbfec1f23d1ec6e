"""The one-hop aiosqlite variant behaves as a DB-API cursor: rows, rowcount, lastrowid, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from chasm.kit.db import create_engine
from chasm.kit.sqlite_driver import DRIVER


async def test_statements_rows_counts_and_errors(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert engine.dialect.driver == DRIVER
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
            inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert inserted.lastrowid == 1
            await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])
            updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
            assert updated.rowcount == 2
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
            assert (await conn.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None
            streamed = [r.name async for r in await conn.stream(text("SELECT name FROM t ORDER BY id"))]
            assert streamed == ["a", "b!", "c!"]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (name) VALUES ('z')"))
                await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        with pytest.raises(OperationalError):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT * FROM missing"))
        async with engine.connect() as conn:  # the failed transaction left nothing behind
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 3
    finally:
        await engine.dispose()


async def test_commit_and_rollback_hop_only_inside_a_transaction(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    hops: list[str] = []
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            real = raw._execute

            async def counted(fn, *args):  # type: ignore[no-untyped-def]
                hops.append(fn.__name__)
                return await real(fn, *args)

            raw._execute = counted
            await conn.execute(text("SELECT count(*) FROM t"))
            await conn.commit()  # nothing open: no hop
            await conn.rollback()
            assert hops == ["_run"]
            await conn.execute(text("INSERT INTO t (id) VALUES (1)"))
            await conn.commit()
            assert hops == ["_run", "_run", "commit"]
            await conn.execute(text("INSERT INTO t (id) VALUES (2)"))
            await conn.rollback()
            assert hops[-1] == "rollback"
            raw._execute = real
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT id FROM t"))).scalars().all() == [1]
    finally:
        await engine.dispose()

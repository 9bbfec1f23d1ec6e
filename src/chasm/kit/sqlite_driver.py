"""SQLAlchemy's aiosqlite dialect with one thread hop per statement.

aiosqlite runs every call (make a cursor, execute, fetch, close) on its own thread, and
SQLAlchemy's adapter makes four such calls per statement. A hop costs 50-400 µs depending on the
host (about 0.36 ms on the 2-core development machine), far more than an indexed SQLite query,
so a request of four statements spent most of its database time waking threads. This adapter
runs execute + fetchall + close as one function on aiosqlite's thread, and skips the hop of a
commit or rollback when no transaction is open (sqlite3 would do nothing); everything else (the
connection, its thread, server-side cursors, error translation) is SQLAlchemy's own aiosqlite
dialect, unchanged.

It also sends an executemany INSERT as multi-row `VALUES` pages (SQLAlchemy's "insertmanyvalues",
which its SQLite dialect uses only with RETURNING): sqlite3's executemany releases the GIL around
every row's step and retakes it before binding the next, so with the event loop's thread busy each
row waited for the GIL (a 500-row batch of recording events spent most of its time so); one
statement per page waits once.

`create_engine` in `kit.db` selects it for `sqlite+aiosqlite` URLs; the URL users write stays
`sqlite+aiosqlite:///...`.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

DRIVER = "chasm_aiosqlite"

_Result = tuple[Any, int, Any, list[Any]]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def send(dbapi_connection: Any, operation: str, parameters: Any) -> asyncio.Future[_Result]:
    """Run a statement on the connection's thread without waiting for it: the future resolves (or
    fails with sqlite3's error) once it has run. Statements run in the order they are sent, before
    whatever is sent after them (aiosqlite's queue), SQLAlchemy's own statements included: a caller
    builds its next rows while SQLite writes the last, and waits for every future before it
    commits. `dbapi_connection`: this dialect's DB-API connection (`OneHopConnection`)."""
    conn = dbapi_connection._connection  # the aiosqlite.Connection
    future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
    # What aiosqlite's own _execute does, less its await.
    conn._tx.put_nowait((future, partial(_run, conn._conn, operation, parameters, False)))
    return future


class OneHopCursor:
    """The DB-API cursor SQLAlchemy sees: results are fetched whole, in the same hop."""

    server_side = False
    __slots__ = (
        "_adapt_connection",
        "_connection",
        "_rows",
        "description",
        "rowcount",
        "lastrowid",
        "arraysize",
    )

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection  # the aiosqlite.Connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: Any = None
        self.arraysize = 1

    def _call(self, operation: str, parameters: Any, many: bool) -> None:
        conn = self._connection
        try:
            # aiosqlite's own "run this on the connection's thread" (what its execute() uses).
            result: _Result = await_(conn._execute(_run, conn._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description, self.rowcount, self.lastrowid, rows = result
        self._rows = collections.deque(rows)

    def execute(self, operation: str, parameters: Any = None) -> None:
        self._call(operation, parameters, False)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self._call(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the real cursor was closed in the hop that ran the statement."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Ignored, as sqlite3 does."""

    def __enter__(self) -> OneHopCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def _in_transaction(self) -> bool:
        try:
            # sqlite3 reads this flag from the database handle (sqlite3_get_autocommit), not on
            # the connection's thread; nothing else runs on the connection while we ask.
            return bool(self._connection._conn.in_transaction)
        except ValueError:  # closed
            return False

    # sqlite3's commit() and rollback() do nothing outside a transaction, but each still costs a
    # thread hop here: a read-only request ends with both (the session's commit, then the pool's
    # reset), a write with one of them.
    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    use_insertmanyvalues_wo_returning = True  # see the module's docstring

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopSQLiteDialect")

"""Rows the harvest store writes, and their bulk insert on SQLite.

The rows themselves are built in `rowdata` (re-exported here), which the parser processes import
without SQLAlchemy. `SqliteInserter` inserts many rows per statement:
FTS5 flushes its pending terms at the start of every statement that changes a table with an
index trigger, so one `executemany` row at a time leaves one tiny index segment per message to be
merged again and again; one multi-row statement leaves one segment for all its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table

from chasm.harvest.rowdata import (
    MESSAGE_COLUMNS,
    MessageRows,
    aware,
    chat_totals,
    chat_values,
    clean,
    content_hash,
    cut,
    json_text,
    message_rows,
    workspace_key,
)
from chasm.models import ChatMessage

__all__ = [
    "CHAT_COLUMNS",
    "MESSAGE_COLUMNS",
    "MessageRows",
    "SqliteInserter",
    "as_dicts",
    "aware",
    "chat_totals",
    "chat_values",
    "clean",
    "content_hash",
    "cut",
    "json_text",
    "message_rows",
    "workspace_key",
]

messages_t = cast(Table, ChatMessage.__table__)

CHAT_COLUMNS = (
    "id",
    "account_id",
    "provider",
    "source_id",
    "tags",
    "archived",
    "created_at",
    "message_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "tool_call_count",
    "started_at",
    "updated_at",
    "model",
    "workspace_id",
    "source_path",
    "source_missing",
    "parent_source_id",
    "title",
    "metadata",
)


def as_dicts(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(MESSAGE_COLUMNS, row, strict=True)) for row in rows]


class SqliteInserter:
    """Inserts rows (tuples in `columns` order) into one table on a sync SQLite connection, many rows
    per statement, with the values encoded by SQLAlchemy's own bind processors (what a Core insert
    would store)."""

    MAX_ROWS = 1000

    def __init__(
        self, engine: Engine, table: Table, columns: Sequence[str], variable_limit: int = 32766
    ) -> None:
        dialect = engine.dialect
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(columns):
            proc = table.c[name].type._cached_bind_processor(dialect)
            if proc is not None:
                processors.append((i, proc))
        self._processors = processors
        quote = dialect.identifier_preparer.quote
        self._head = "INSERT INTO {} ({}) VALUES ".format(
            quote(table.name), ", ".join(quote(c) for c in columns)
        )
        self._one = "(" + ", ".join("?" * len(columns)) + ")"
        self._per_statement = max(1, min(self.MAX_ROWS, variable_limit // len(columns)))
        self._sql: dict[int, str] = {}

    def _statement(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            sql = self._sql[n] = self._head + ", ".join([self._one] * n)
        return sql

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]], *, encoded: bool = False) -> None:
        """Insert `rows`; `encoded` rows hold their values as bound already (`prepare`)."""
        processors = self._processors
        step = self._per_statement
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            params: list[Any] = []
            extend = params.extend
            if encoded:
                for row in part:
                    extend(row)
            else:
                for row in part:
                    values = list(row)
                    for i, proc in processors:
                        values[i] = proc(values[i])
                    extend(values)
            conn.exec_driver_sql(self._statement(len(part)), tuple(params))

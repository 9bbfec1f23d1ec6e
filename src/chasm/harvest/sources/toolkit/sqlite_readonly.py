"""A tool's SQLite database, read without ever locking or writing it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from chasm.harvest.sources.toolkit.jsonl import loads


def open_sqlite_readonly(path: Path) -> sqlite3.Connection:
    """Open a tool's database read-only and `immutable` (pages still only in a `-wal` file are not
    seen until the tool checkpoints: the price of never taking a lock)."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def decode_blob(value: Any) -> Any:
    """A JSON value stored as TEXT or BLOB in a key-value table; None when not JSON."""
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    try:
        return loads(value)
    except ValueError:
        return None

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import sqlite_db

import pg_databases


@pytest.fixture
async def databases(
    tmp_path: Path, sqlite_template: Path, db_settings: dict[str, object]
) -> AsyncIterator[Callable[[str], Any]]:
    """A fresh database per installation (SQLite file, or a PostgreSQL database): the first is the
    test's own (`db_settings`, which also keeps these tests in the PostgreSQL pass)."""
    made: list[dict[str, object]] = []
    given = [dict(db_settings)]

    async def make(name: str) -> dict[str, Any]:
        if given:
            return given.pop()
        if pg_databases.PG_URL:
            made.append(await pg_databases.new_database())
            return dict(made[-1])
        return sqlite_db(tmp_path / name, sqlite_template)

    yield make
    for database in made:
        pg_databases.drop_database(database)

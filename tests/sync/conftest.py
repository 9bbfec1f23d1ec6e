from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import sqlite_db

import conftest as root


@pytest.fixture
async def databases(
    tmp_path: Path, sqlite_template: Path, db_settings: dict[str, object]
) -> AsyncIterator[Callable[[str], Any]]:
    """A fresh database per installation (SQLite file, or a PostgreSQL schema): the first is the
    test's own (`db_settings`, which also keeps these tests in the PostgreSQL pass)."""
    schemas: list[str] = []
    given = [dict(db_settings)]

    async def make(name: str) -> dict[str, Any]:
        if given:
            return given.pop()
        if root.PG_URL:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            await root._pg_schema("create", schema)
            schemas.append(schema)
            return {"database_url": root.PG_URL, "database_schema": schema}
        return sqlite_db(tmp_path / name, sqlite_template)

    yield make
    for schema in schemas:
        await root._pg_schema("drop", schema)

"""PostgreSQL databases for tests (CHASM_TEST_DATABASE_URL): one migrated once per run, the
template, and a copy of it per test (CREATE DATABASE ... TEMPLATE: a tenth of a second, where
migrating a fresh database takes a second or more). A plain module, imported by name, so the root
conftest's fixtures and the folders' own (sync's installations, the client's live server) share its
state."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import make_url

PG_URL = os.environ.get("CHASM_TEST_DATABASE_URL")

_template: str | None = None
# Per-test databases are dropped on this thread, off the tests' path: a drop waits for a checkpoint.
_dropper = ThreadPoolExecutor(1, thread_name_prefix="pg-drop")


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end from sync code, on a thread of its own (the caller's thread may
    be running an event loop already: pytest-asyncio's, Playwright's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _url(database: str, driver: str = "postgresql") -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(drivername=driver, database=database).render_as_string(hide_password=False)


def _prefix() -> str:
    """Names of the databases a run makes start with the run's database name, so a run killed
    half-way leaves only names its CI script's clean-up (`.ci/run`) recognises."""
    assert PG_URL is not None
    return f"{(make_url(PG_URL).database or 'chasm')[:40]}_"


ADMIN_TIMEOUT_S = 60.0  # one CREATE/DROP DATABASE; a tenth of a second normally


async def _admin(*statements: str) -> None:
    """Run `statements` on the run's own database. Each one is bounded: a CREATE or DROP DATABASE
    stuck behind a lock fails the test (or, for a drop, is reported and left to `.ci/run`'s
    clean-up) instead of hanging the run where pytest-timeout's alarm cannot reach it."""
    import asyncpg

    assert PG_URL is not None
    conn = await asyncpg.connect(
        _url(make_url(PG_URL).database or "postgres"), timeout=30, command_timeout=ADMIN_TIMEOUT_S
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await asyncio.wait_for(conn.close(), 10)


async def _make_template(name: str) -> None:
    from chasm.kit.db import create_engine, migrate

    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    engine = create_engine(_url(name, "postgresql+asyncpg"))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    # Nothing connects to it from now on: CREATE DATABASE ... TEMPLATE needs it idle.
    await _admin(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')


def make_template() -> str:
    """Migrate the run's template database (once: later calls return its name)."""
    global _template
    if _template is None:
        name = _prefix() + "tpl"
        run_sync(_make_template(name))
        _template = name
    return _template


def drop_template() -> None:
    """At the end of the run: wait for the drops still queued, then drop the template."""
    global _template
    _dropper.shutdown(wait=True)  # each drop is bounded (`_admin`)
    if _template is not None:
        name, _template = _template, None
        run_sync(
            _admin(
                f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false',
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            )
        )


async def new_database() -> dict[str, object]:
    """Settings for a fresh, migrated database of its own; `drop_database` ends it."""
    assert _template is not None, "the pg_template fixture makes the template first"
    name = f"{_prefix()}t{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
    return {"database_url": _url(name)}


def drop_database(database: dict[str, object]) -> None:
    """Drop a database of `new_database` on the dropper thread: the connections of an app still
    stopping are ended (FORCE), and the test does not wait for it."""
    name = make_url(str(database["database_url"])).database
    _dropper.submit(_drop, name)


def _drop(name: str | None) -> None:
    try:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as exc:  # left for the CI script's clean-up; the tests' outcome stands
        sys.__stderr__.write(f"\ntests: could not drop database {name}: {exc!r}\n")

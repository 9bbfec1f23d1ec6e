"""Shared fixtures: a real app on a fresh database (SQLite, or PostgreSQL when
CHASM_TEST_DATABASE_URL is set: each test then gets its own database, a copy of a migrated
template), and HTTP clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings
from shutdown_watchdog import stop_watchdog

# Tests run with --import-mode=importlib (so test files may share basenames); their helper modules
# are imported by plain name from their own folder.
for _folder in sorted(Path(__file__).parent.rglob("*")):
    if _folder.is_dir() and _folder.name != "__pycache__" and str(_folder) not in sys.path:
        sys.path.append(str(_folder))

# The fake LLM API (`fake_llm`), shared by the providers, completions and agents tests.
pytest_plugins = ["fakes.llm_server"]

PG_URL = os.environ.get("CHASM_TEST_DATABASE_URL")
# No background embedding of every test's messages (each Settings reads it): tests/semantic turns
# the local model on for its own tests.
os.environ.setdefault("CHASM_SEMANTIC_EMBEDDER", "off")
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
if not FIXTURES.exists():
    FIXTURES = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures"))


# Sandbox tests whose database work is more than a session row: quotas and admission (advisory
# locks), two nodes on one database, crash recovery, metering and wallets, webhook outboxes and
# leases, jobs, workspaces. They run on PostgreSQL too; the other sandbox tests (exec, files,
# gateway, browsers, tools, agents' sandboxes) exercise the machine, the same on either database.
PG_SANDBOX_DIRS = {"sessions", "workspaces", "billing", "webhooks", "jobs", "swarms", "auth", "accounts"}


def _runs_on_postgres(item: pytest.Item) -> bool:
    if not {"db_settings", "live_server"} & set(getattr(item, "fixturenames", ())):
        return False  # reaches no database: the SQLite pass ran it
    if item.get_closest_marker("sandbox") is None:
        return True
    return Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0] in PG_SANDBOX_DIRS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run the tests whose outcome can depend on the database (see above; the
    client tests' shared `live_server` reaches it as `db_settings` does); the others ran the same
    on the SQLite pass, and running them twice only made CI slower."""
    if not PG_URL:
        return
    keep = [item for item in items if _runs_on_postgres(item)]
    dropped = [item for item in items if not _runs_on_postgres(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _pg_dsn(database: str) -> str:
    """A libpq URL (asyncpg's form) for another database on the test server."""
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    url = make_url(PG_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def _pg_prefix() -> str:
    """Names of the databases this run makes: the run's database name first, so a run killed
    half-way leaves only names that its CI script's clean-up (`.ci/run`) recognises."""
    assert PG_URL is not None
    return f"{_database_name(PG_URL)[:40]}_"


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end from sync code, on a thread of its own (the caller's thread may
    be running an event loop already: pytest-asyncio's, Playwright's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    assert PG_URL is not None
    conn = await asyncpg.connect(_pg_dsn(_database_name(PG_URL)))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or "postgres"


_pg_template_name: str | None = None
# Per-test databases are dropped on this thread, off the tests' path (a drop waits on the disk).
_pg_dropper = ThreadPoolExecutor(1, thread_name_prefix="pg-drop")


async def _make_pg_template(name: str) -> None:
    from chasm.kit.db import create_engine, migrate

    await _pg_admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    engine = create_engine(_pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    # Nothing may connect to it from now on: CREATE DATABASE ... TEMPLATE needs it idle.
    await _pg_admin(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """On PostgreSQL: a database migrated once per run; each test gets a copy of it (CREATE
    DATABASE ... TEMPLATE, a file copy of a tenth of a second, where migrating took a second)."""
    global _pg_template_name
    if not PG_URL:
        yield None
        return
    name = _pg_prefix() + "tpl"
    run_sync(_make_pg_template(name))
    _pg_template_name = name
    yield name
    _pg_dropper.shutdown(wait=True)
    run_sync(
        _pg_admin(
            f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false',
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )
    )


async def new_pg_database() -> dict[str, object]:
    """Settings for a fresh, migrated PostgreSQL database of its own (the `pg_template` fixture
    must be set up); `drop_pg_database` ends it."""
    assert _pg_template_name is not None, "request the pg_template fixture first"
    name = f"{_pg_prefix()}t{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template_name}"')
    return {"database_url": _pg_dsn(name)}


def drop_pg_database(database: dict[str, object]) -> None:
    """Drop a database of `new_pg_database` on the dropper thread: connections an app still
    stopping holds are ended (FORCE), and the test does not wait for it."""
    name = _database_name(str(database["database_url"]))
    _pg_dropper.submit(asyncio.run, _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per run; each test starts from a copy of it."""
    from alembic import command

    from chasm.kit.db import _alembic_config

    path = tmp_path_factory.mktemp("template") / "chasm.db"
    cfg = _alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    command.upgrade(cfg, "heads")
    return path


@pytest.fixture
async def db_settings(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, object]]:
    if PG_URL:
        request.getfixturevalue("pg_template")
        database = await new_pg_database()
        yield database
        drop_pg_database(database)
    else:
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "chasm.db")
        yield {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'chasm.db'}"}


@pytest.fixture
def settings(tmp_path: Path, db_settings: dict[str, object]) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        embedded_workers=1,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        **db_settings,  # type: ignore[arg-type]
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        watchdog = stop_watchdog()
    watchdog.cancel()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated client calling from 127.0.0.1."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        yield c


@pytest.fixture
def admin_key(app: FastAPI) -> str:
    key: str = app.state.bootstrap_key
    return key


@pytest.fixture
async def admin(app: FastAPI, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated with the bootstrap owner's full-access key."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8787",
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as c:
        yield c


def remote_client(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    """A client calling from a non-loopback address."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://chasm.example", headers=headers)

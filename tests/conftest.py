"""Shared fixtures: a real app on a fresh database (SQLite, or PostgreSQL when
CHASM_TEST_DATABASE_URL is set: each test then gets its own database, a copy of a migrated
template), and HTTP clients."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import pg_databases
import shutdown_watchdog
from chasm.app import create_app
from chasm.config import Settings
from shutdown_watchdog import running

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


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """On PostgreSQL: the database migrated once per run that each test's is a copy of."""
    if not PG_URL:
        yield None
        return
    yield pg_databases.make_template()
    pg_databases.drop_template()


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
        database = await pg_databases.new_database()
        yield database
        pg_databases.drop_database(database)
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
    async with running(create_app(settings)) as application:
        yield application


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


def pytest_configure(config: pytest.Config) -> None:
    shutdown_watchdog.CONFIG = config  # its reports go past the capture, to the terminal

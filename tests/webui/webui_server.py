"""One real Chasm server for the dashboard's browser tests: uvicorn on 127.0.0.1 in a thread (its
own event loop, lifespan on), a fresh data dir and database, the real fixtures harvested."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from chasm.app import create_app
from chasm.config import Settings
from shared_fixtures import TRANSCRIPTS

FIXTURES = TRANSCRIPTS
PG_URL = os.environ.get("CHASM_TEST_DATABASE_URL")

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CHROMIUM = os.environ.get("CHASM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def screenshot(page: object, name: str) -> None:
    """A test artifact (ignored by git): the page as the test left it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _pg(action: str, schema: str) -> None:
    import asyncpg

    assert PG_URL is not None
    conn = await asyncpg.connect("postgresql://" + PG_URL.split("://", 1)[1])
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute("SET lock_timeout = '5s'")
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _in_a_thread(action: str, schema: str) -> None:
    # Playwright's sync API runs an event loop on the test's thread: asyncio.run() goes elsewhere.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _pg(action, schema)).result()


class DashboardServer:
    def __init__(self, tmp: Path, **settings: object) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.schema: str | None = None
        db: dict[str, object] = {"database_url": f"sqlite+aiosqlite:///{tmp / 'chasm.db'}"}
        if PG_URL:
            self.schema = f"t_{uuid.uuid4().hex[:12]}"
            _in_a_thread("create", self.schema)
            db = {"database_url": PG_URL, "database_schema": self.schema}
        self.settings = Settings(
            data_dir=tmp / "data",
            secret_key="test-secret-key-" + uuid.uuid4().hex,
            embedded_workers=1,
            argon2_time_cost=1,
            argon2_memory_kib=8 * 1024,
            host="127.0.0.1",
            port=self.port,
            **db,  # type: ignore[arg-type]
            **settings,  # type: ignore[arg-type]
        )
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="dashboard-server", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard test server did not start")
            time.sleep(0.02)
        self.key: str = self.app.state.bootstrap_key
        self.admin = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60
        )

    def harvest_fixtures(self) -> dict[str, object]:
        """Point the harvest at a copy of the real fixtures and harvest them once."""
        tree = self.tmp / "transcripts"
        shutil.copytree(FIXTURES, tree)
        roots = {d.name: [str(d)] for d in tree.iterdir() if d.is_dir()}
        self.admin.put("/api/settings", json={"harvest": {"roots": roots}}).raise_for_status()
        response = self.admin.post("/api/harvest", json={})
        response.raise_for_status()
        data: dict[str, object] = response.json()["data"]
        return data

    def stop(self) -> None:
        self.admin.close()
        self.server.should_exit = True
        self.thread.join(30)
        if self.schema:
            _in_a_thread("drop", self.schema)

"""One real server for all the client's tests: the app and uvicorn run in a thread of their own,
so the sync client is called from plain test functions and the async one from the tests' event
loop, and one sandbox can serve a whole module."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

import pg_databases
from chasm.app import create_app
from chasm.config import Settings
from sessions.fixtures import LiveServer

PG_URL = os.environ.get("CHASM_TEST_DATABASE_URL")


class ServerThread:
    """`url`, `key` (the bootstrap owner's full-access key) and `app` of a running server."""

    def __init__(self, config: Settings) -> None:
        self.settings = config
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.app: Any = None
        self.key = ""
        self.url = ""
        self.server: uvicorn.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, name="chasm-test-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test that waits for the server
            self.failure = error
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        application = create_app(self.settings)
        async with application.router.lifespan_context(application):
            self.app, self.key = application, application.state.bootstrap_key
            live_server = LiveServer(application)
            self.url, self.server = live_server.url, live_server.server
            serving = asyncio.create_task(live_server.server.serve())
            while not live_server.server.started and not serving.done():
                await asyncio.sleep(0.01)
            self.ready.set()
            await serving
            storage = application.state.sandbox.storage  # disks may be loop mounts: delete them
            root = self.settings.data_dir / "workspaces"
            for disk in sorted(p.name for p in root.iterdir()) if root.exists() else []:
                await storage.delete(disk)

    def start(self) -> ServerThread:
        self.thread.start()
        self.ready.wait(120)
        if self.failure is not None:
            raise self.failure
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(60)


@pytest.fixture(scope="package")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerThread]:
    tmp = tmp_path_factory.mktemp("client-server")
    pg_database: dict[str, Any] | None = None
    if PG_URL:
        request.getfixturevalue("pg_template")
        pg_database = pg_databases.run_sync(pg_databases.new_database())
        database: dict[str, Any] = dict(pg_database)
    else:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp / "chasm.db")
        database = {"database_url": f"sqlite+aiosqlite:///{tmp / 'chasm.db'}"}
    settings_ = Settings(
        data_dir=tmp / "data",
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        embedded_workers=1,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
        session_reaper_interval_s=3600.0,
        **database,
    )
    running = ServerThread(settings_).start()
    yield running
    running.stop()
    if pg_database is not None:
        pg_databases.drop_database(pg_database)

"""A real `chasm api serve` in a child process, for the tests that kill it (-9) or start a second
one on the same data dir."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx

from chasm.config import Settings

KEY = re.compile(rb"\n    (sk_\S+)\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.key: str | None = None

    def environ(self) -> dict[str, str]:
        env = {
            **os.environ,
            "CHASM_DATA_DIR": str(self.settings.data_dir),
            "CHASM_DATABASE_URL": str(self.settings.database_url),
            "CHASM_SECRET_KEY": str(self.settings.secret_key),
            "CHASM_PORT": str(self.port),
            "CHASM_SANDBOX_WARM_POOL": "0",
            "CHASM_ARGON2_TIME_COST": "1",
            "CHASM_ARGON2_MEMORY_KIB": "8192",
            "CHASM_JOB_POLL_INTERVAL_S": "0.05",
            **self.env,
        }
        if self.settings.database_schema:
            env["CHASM_DATABASE_SCHEMA"] = self.settings.database_schema
        return env

    async def start(self, *, wait: bool = True) -> asyncio.subprocess.Process:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from chasm.cli.main import app; app()",
            "api",
            "serve",
            "--log-level",
            "info",
            env=self.environ(),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if wait:
            await self.wait_ready()
        return self.process

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_ready(self) -> None:
        assert self.process is not None
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                if self.process.returncode is not None:
                    raise AssertionError(f"server exited {self.process.returncode}:\n{self.output()}")
                try:
                    if (await client.get(f"{self.url}/api/health")).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"server did not start:\n{self.output()}")
        found = KEY.search(self.log_path.read_bytes())
        if found and self.key is None:
            self.key = found.group(1).decode()

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {key or self.key}"}, timeout=30
        )

    def kill9(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # already gone (killed before, not yet reaped)
            os.killpg(self.process.pid, signal.SIGKILL)

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.kill9()
        return await self.process.wait()


async def json_of(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, response.text
    return response.json()

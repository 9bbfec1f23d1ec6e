"""No plaintext credential at rest or in the server log: after a session with a proxy password and
secret env values ran and ended, a dump of every table (and, on SQLite, the raw database, WAL and
shm files) and the access log hold none of them. Data dir 0700, database files 0600."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from chasm.config import Settings
from chasm.kit.db import Base, transaction
from chasm.kit.timeutil import utcnow
from chasm.sessions.machine import seal_state, unseal_state
from sessions.fixtures import LiveServer

pytestmark = pytest.mark.sandbox

PROXY_PASSWORD = "pr0xy-PASS-e1f9a7c3"
ENV_SECRET = "env-SECRET-5b2d8e10"
URL_PASSWORD = "url-PASS-77c4a2b9"
PROXY = {"url": "http://127.0.0.1:9", "username": "alice", "password": PROXY_PASSWORD}


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _server_log() -> Iterator[_Collect]:
    """Every line uvicorn and chasm log meanwhile, formatted as a handler would (attach after
    uvicorn configured its loggers: its dictConfig replaces their handlers)."""
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "chasm")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


async def _dump(app: FastAPI) -> str:
    """Every row of every table, as text."""
    out: list[str] = []
    async with transaction(app.state.sessionmaker) as db:
        for table in Base.metadata.sorted_tables:
            for row in (await db.execute(select(table))).all():
                out.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(out)


def _raw_sqlite(settings: Settings) -> bytes:
    url = settings.effective_database_url
    if not url.startswith("sqlite"):
        return b""
    path = url.split(":///", 1)[1]
    data = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            data += Path(path + suffix).read_bytes()
    return data


def _assert_clean(text: str, raw: bytes, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret} found in plaintext"
        assert secret.encode() not in raw, f"{secret} found in the raw database files"


async def test_no_plaintext_credential_in_the_database_or_the_log(app: FastAPI, settings: Settings) -> None:
    server = LiveServer(app)
    with _server_log() as server_log:
        await _run_and_end_sessions(app, settings, server)
    secrets = [ENV_SECRET, PROXY_PASSWORD, URL_PASSWORD, app.state.test_token, app.state.bootstrap_key]
    dump = await _dump(app)
    assert "sandbox_sessions" in dump
    _assert_clean(dump, _raw_sqlite(settings), secrets)
    log = "\n".join(server_log.lines)
    assert f"/s/{app.state.test_sid}/forward/8080/?token=[redacted]" in log, log
    for secret in secrets:
        assert secret not in log
    # Ended sessions keep nothing sealed either.
    assert "env_sealed" not in dump


async def _run_and_end_sessions(app: FastAPI, settings: Settings, server: LiveServer) -> None:
    task = asyncio.create_task(server.server.serve())
    while not server.server.started:
        await asyncio.sleep(0.01)
    try:
        key = app.state.bootstrap_key
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
            r = await c.post(
                "/v1/sessions",
                json={
                    "ephemeral": True,
                    "env": {"API_TOKEN": ENV_SECRET},
                    "network": {
                        "mode": "proxy",
                        "proxy": {
                            "url": "http://127.0.0.1:9",
                            "username": "alice",
                            "password": PROXY_PASSWORD,
                        },
                    },
                },
            )
            assert r.status_code == 201, r.text
            session = r.json()
            sid, token = session["id"], session["access_token"]
            app.state.test_sid, app.state.test_token = sid, token
            # The sandbox does get its secrets.
            check = 'test "$API_TOKEN" = "$EXPECT" && case "$HTTP_PROXY" in *alice:*@*) echo both;; esac'
            ran = await c.post(
                f"/v1/sessions/{sid}/exec", json={"command": check, "env": {"EXPECT": ENV_SECRET}}
            )
            assert ran.json()["output"].strip() == "both", ran.text
            # While it runs, its secrets are sealed at rest.
            _assert_clean(await _dump(app), _raw_sqlite(settings), [ENV_SECRET, PROXY_PASSWORD, token])
            # Credentials in query strings: the gateway's ?token=, an OAuth-like callback.
            async with httpx.AsyncClient(base_url=server.url) as anon:
                await anon.get(f"/s/{sid}/forward/8080/", params={"token": token})
                await anon.get("/auth/google/callback", params={"code": ENV_SECRET, "state": "x"})
                await anon.get("/v1/sessions", params={"access_token": PROXY_PASSWORD})
            # A proxy URL carrying its own credentials keeps none of them in the row.
            r2 = await c.post(
                "/v1/sessions",
                json={
                    "ephemeral": True,
                    "network": {"mode": "proxy", "proxy": {"url": f"http://bob:{URL_PASSWORD}@127.0.0.1:9"}},
                },
            )
            assert r2.status_code == 201, r2.text
            for ended in (sid, r2.json()["id"]):
                assert (await c.delete(f"/v1/sessions/{ended}")).status_code == 200
    finally:
        server.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


def test_sealed_state_round_trips_and_needs_the_key() -> None:
    state = {"pid": 7, "env": {"API_TOKEN": ENV_SECRET}, "run_dir": "/run/x"}
    sealed = seal_state("k1", state)
    assert "env" not in sealed and ENV_SECRET not in str(sealed) and "API_TOKEN" not in str(sealed)
    assert unseal_state("k1", sealed) == state
    assert unseal_state("k2", sealed)["env"] == {}


async def test_data_dir_and_database_files_are_private(app: FastAPI, settings: Settings) -> None:
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    url = settings.effective_database_url
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps its files itself")
    path = url.split(":///", 1)[1]
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(select(1))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            assert stat.S_IMODE(os.stat(path + suffix).st_mode) == 0o600, suffix


async def test_secrets_in_a_jobs_input_are_sealed(app: FastAPI, admin: httpx.AsyncClient) -> None:
    """A job's input is a row too: a command's `env` (sandbox.exec, pipeline.run) and a browser
    session's proxy (browser.*) are stored sealed, shown as `[sealed]`, and given to the handler."""
    check = 'test "$API_TOKEN" = "$EXPECT" && echo same'
    env = {"API_TOKEN": ENV_SECRET, "EXPECT": ENV_SECRET}
    created = await admin.post(
        "/v1/jobs", json={"kind": "sandbox.exec", "input": {"ephemeral": True, "command": check, "env": env}}
    )
    assert created.status_code == 201, created.text
    assert created.json()["input"]["env"] == "[sealed]"
    later = (utcnow() + timedelta(hours=1)).isoformat()
    network = {"mode": "proxy", "proxy": PROXY}
    browser = await admin.post(
        "/v1/jobs",
        json={
            "kind": "browser.scrape",
            "input": {"url": "http://127.0.0.1:9/", "network": network},
            "run_at": later,
        },
    )
    assert browser.status_code == 201, browser.text
    assert browser.json()["input"]["network"] == "[sealed]"
    for _ in range(400):
        job = (await admin.get(f"/v1/jobs/{created.json()['id']}")).json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["result"]["output"] == "same\n"
    assert job["input"] == {**job["input"], "env": "[sealed]", "command": check}
    _assert_clean(await _dump(app), _raw_sqlite(app.state.settings), [ENV_SECRET, PROXY_PASSWORD])

"""A crash or a second process loses nothing: real `chasm api serve` processes, killed with -9
or started twice on one data dir (run: `uv run pytest tests/sessions/test_crash.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chasm.config import Settings
from chasm.sessions.drivers.mounts import mounts_under
from sessions.server_process import ServerProcess, json_of

pytestmark = pytest.mark.sandbox


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


async def test_a_second_server_on_the_same_data_dir_exits_and_touches_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    first = ServerProcess(settings, tmp_path / "first.log")
    await first.start()
    try:
        async with first.client() as api:
            session = await json_of(await api.post("/v1/sessions", json={"ephemeral": True}), 201)
            second = ServerProcess(settings, tmp_path / "second.log")
            process = await second.start(wait=False)
            assert await process.wait() == 1
            out = second.output()
            assert "another Chasm server" in out and str(settings.data_dir) in out, out
            assert f"pid {first.process.pid if first.process else 0}" in out, out
            # The first server's session and its sandbox are untouched.
            got = await json_of(await api.get(f"/v1/sessions/{session['id']}"), 200)
            assert got["status"] == "running"
            ran = await api.post(f"/v1/sessions/{session['id']}/exec", json={"command": "echo alive"})
            assert (await json_of(ran, 200))["output"] == "alive\n"
    finally:
        assert await first.stop() == 0


async def test_a_stray_sandbox_of_a_killed_server_is_cleaned_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    """kill -9 leaves the sandbox running; its row is then gone (as a rolled-back row would be):
    the next server kills it, unmounts its workspace and says so."""
    import sqlalchemy as sa

    from chasm.kit.db import create_engine

    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    async with server.client() as api:
        session = await json_of(await api.post("/v1/sessions", json={"ephemeral": True}), 201)
    sid = session["id"]
    state_pid = await _sandbox_pid(settings, sid)
    server.kill9()
    await server.process.wait() if server.process else None
    assert _alive(state_pid)
    engine = create_engine(settings.effective_database_url, settings.database_schema)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM sandbox_sessions"))
    await engine.dispose()

    restarted = ServerProcess(settings, tmp_path / "server.log")
    restarted.key = server.key
    await restarted.start()
    try:
        assert not _alive(state_pid)
        assert f"stopping stray sandbox {sid}" in restarted.output()
        assert not mounts_under(settings.data_dir), mounts_under(settings.data_dir)
        assert not [m for m in mounts_under(Path("/run")) if sid in str(m)]
    finally:
        assert await restarted.stop() == 0
    assert not mounts_under(settings.data_dir)


async def _sandbox_pid(settings: Settings, sid: str) -> int:
    import sqlalchemy as sa

    from chasm.kit.db import create_engine

    engine = create_engine(settings.effective_database_url, settings.database_schema)
    async with engine.begin() as conn:
        rows = (await conn.execute(sa.text("SELECT id, driver_state FROM sandbox_sessions"))).all()
    await engine.dispose()
    import json

    for row_id, state in rows:
        if str(row_id).replace("-", "") == sid.replace("-", ""):
            data = state if isinstance(state, dict) else json.loads(state)
            return int(data["pid"])
    raise AssertionError(f"no row for {sid}: {rows}")

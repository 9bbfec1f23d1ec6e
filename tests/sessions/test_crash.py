"""A crash or a second process loses nothing: real `chasm api serve` processes, killed with -9
or started twice on one data dir (run: `uv run pytest tests/sessions/test_crash.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from chasm.config import Settings
from chasm.sandbox.drivers.mounts import mounts_under
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
    first = ServerProcess(settings, tmp_path / "first.log", CHASM_SANDBOX_WARM_POOL="2")
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
    # A clean stop leaves no sandbox and no mount (ephemeral workspaces, warm pool, staging).
    assert not mounts_under(settings.data_dir)
    install = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:12]
    assert not mounts_under(Path(f"/run/chasm-{install}"))
    assert not list((settings.data_dir / "sandboxes" / "ephemeral").glob("*"))


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


async def _wait_status(api: Any, url: str, *statuses: str) -> dict[str, Any]:
    for _ in range(400):
        body: dict[str, Any] = await json_of(await api.get(url), 200)
        if body["status"] in statuses:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} stayed {body['status']}")


async def _events(api: Any, url: str, **headers: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, event, data) of a whole SSE stream."""
    text = (await api.get(url, headers=headers, timeout=60)).text
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields.get("id", ""), fields["event"], json.loads(fields["data"])))
    return events


async def test_background_commands_survive_a_killed_server(settings: Settings, tmp_path: Path) -> None:
    """kill -9 the server while commands run: one ends while no server runs, one keeps running;
    the restarted server lists both with their status, streams the whole output, resumes from an
    offset, and can still signal the one running."""
    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    async with server.client() as api:
        session = await json_of(await api.post("/v1/sessions", json={"ephemeral": True}), 201)
        base = f"/v1/sessions/{session['id']}"
        script = "echo one; echo err >&2; sleep 1.5; echo two; exit 3"
        ends = await json_of(
            await api.post(f"{base}/exec", json={"command": script, "background": True}), 200
        )
        runs = await json_of(
            await api.post(f"{base}/exec", json={"command": "echo start; sleep 60", "background": True}), 200
        )
        await asyncio.sleep(0.5)
    server.kill9()
    await server.process.wait() if server.process else None
    await asyncio.sleep(2.0)  # `ends` finishes while no server runs

    restarted = ServerProcess(settings, tmp_path / "server.log")
    restarted.key = server.key
    await restarted.start()
    try:
        async with restarted.client() as api:
            listed = {c["id"]: c for c in (await json_of(await api.get(f"{base}/commands"), 200))["items"]}
            assert listed[ends["command_id"]]["status"] == "exited"
            assert listed[ends["command_id"]]["exit_code"] == 3
            assert listed[runs["command_id"]]["status"] == "running"
            events = await _events(api, f"{base}/commands/{ends['command_id']}/stream")
            output = [(event, data["data"]) for _, event, data in events if event != "exit"]
            assert sorted(output) == sorted([("stdout", "one\n"), ("stderr", "err\n"), ("stdout", "two\n")])
            assert events[-1][1] == "exit" and events[-1][2]["exit_code"] == 3
            # Resume after the first event: the rest, nothing twice.
            resumed = await _events(
                api, f"{base}/commands/{ends['command_id']}/stream", **{"Last-Event-ID": events[0][0]}
            )
            assert [e[2] for e in resumed] == [e[2] for e in events[1:]]
            killed = await api.post(f"{base}/commands/{runs['command_id']}/kill", json={"signal": "KILL"})
            assert killed.status_code == 200, killed.text
            done = await _wait_status(api, f"{base}/commands/{runs['command_id']}", "killed")
            assert done["exit_code"] == -9
            tail = await _events(api, f"{base}/commands/{runs['command_id']}/stream")
            assert tail[0][2]["data"] == "start\n" and tail[-1][1] == "exit"
    finally:
        assert await restarted.stop() == 0


async def test_exec_jobs_keep_their_outcome_across_a_killed_server(
    settings: Settings, tmp_path: Path
) -> None:
    """kill -9 the server while two sandbox.exec jobs run: one command ends while no server runs
    (exit 7), one still runs at the restart. Both jobs get their command's real outcome, not
    "worker lost"."""
    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    async with server.client() as api:
        session = await json_of(await api.post("/v1/sessions", json={"ephemeral": True}), 201)
        base = f"/v1/sessions/{session['id']}"
        jobs = {}
        for name, command in (
            ("ends", "echo begun; sleep 1; echo done; exit 7"),
            ("runs", "sleep 4; echo late"),
        ):
            body = {"kind": "sandbox.exec", "input": {"session_id": session["id"], "command": command}}
            jobs[name] = (await json_of(await api.post("/v1/jobs", json=body), 201))["id"]
        for _ in range(200):  # both commands started
            listed = {c["id"] for c in (await json_of(await api.get(f"{base}/commands"), 200))["items"]}
            if {f"job_{uuid.UUID(j).hex}" for j in jobs.values()} <= listed:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"job commands did not start: {listed}")
    server.kill9()
    await server.process.wait() if server.process else None
    await asyncio.sleep(1.5)

    restarted = ServerProcess(settings, tmp_path / "server.log")
    restarted.key = server.key
    await restarted.start()
    try:
        async with restarted.client() as api:
            done = {
                name: await _wait_status(api, f"/v1/jobs/{jid}", "succeeded", "failed")
                for name, jid in jobs.items()
            }
            assert done["ends"]["status"] == "failed", done["ends"]
            assert done["ends"]["error"] == "the command exited with 7"
            assert done["ends"]["result"]["exit_code"] == 7
            assert done["ends"]["result"]["output"] == "begun\ndone\n"
            assert done["runs"]["status"] == "succeeded", done["runs"]
            assert done["runs"]["result"]["output"] == "late\n" and done["runs"]["result"]["exit_code"] == 0
    finally:
        assert await restarted.stop() == 0


async def test_a_snapshot_cut_by_a_killed_server_leaves_no_garbage(
    settings: Settings, tmp_path: Path
) -> None:
    """kill -9 the server while it copies a workspace into the snapshot store: the restarted
    server removes the partial blob and the blobs no recorded snapshot refers to, and the
    snapshot taken before the crash still restores."""
    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    store = settings.data_dir / "snapshots"
    async with server.client() as api:
        ws = await json_of(await api.post("/v1/workspaces", json={"name": "big"}), 201)
        tree = settings.data_dir / "workspaces" / ws["id"] / "mnt"
        (tree / "kept").write_bytes(os.urandom(100_000))
        await json_of(await api.post("/v1/workspaces/big/snapshots", json={"name": "before"}), 201)
        for i in range(24):
            (tree / f"f{i:02}").write_bytes(os.urandom(4 * 1024**2))
        taking = asyncio.create_task(api.post("/v1/workspaces/big/snapshots", json={"name": "cut"}))
        for _ in range(4000):  # kill once a few blobs of the new snapshot are in the store
            if len(list(store.glob("blobs/??/*"))) >= 5 or taking.done():
                break
            await asyncio.sleep(0.005)
        server.kill9()
        await server.process.wait() if server.process else None
        assert not taking.done() or taking.exception() is not None, "the snapshot ended before the kill"
        with contextlib.suppress(Exception):
            await taking
    left = list(store.glob("blobs/??/*")) + list(store.glob("blobs/.tmp-*"))
    assert sum(p.stat().st_size for p in left) > 4 * 4 * 1024**2  # what the cut snapshot left

    restarted = ServerProcess(settings, tmp_path / "server.log")
    restarted.key = server.key
    await restarted.start()
    try:
        assert not list(store.glob("blobs/.tmp-*"))
        manifests = list(store.glob("manifests/*.json"))
        referenced = {
            entry["sha256"]
            for manifest in manifests
            for entry in json.loads(manifest.read_text())["entries"]
            if entry.get("sha256")
        }
        assert {blob.name for blob in store.glob("blobs/??/*")} == referenced
        assert sum(p.stat().st_size for p in store.glob("blobs/??/*")) < 1024**2
        async with restarted.client() as api:
            listed = await json_of(await api.get("/v1/workspaces/big/snapshots"), 200)
            assert [s["name"] for s in listed["items"]] == ["before"]
            restored = await api.post("/v1/workspaces/big/snapshots/before/restore")
            assert restored.status_code == 200, restored.text
        assert sorted(p.name for p in tree.iterdir()) == ["kept"]
    finally:
        assert await restarted.stop() == 0

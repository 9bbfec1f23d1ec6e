"""No sandbox outlives its record: a `POST /v1/exec` that fails leaves no process and no mount."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chasm.config import Settings
from chasm.sandbox.drivers.base import SandboxError
from chasm.sandbox.drivers.mounts import mounts_under

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sandbox_warm_pool": 0})


def _leftovers(app: FastAPI) -> dict[str, Any]:
    driver = app.state.sandbox_driver
    run_root: Path = driver.run_root
    runs = [p.name for p in run_root.iterdir()] if run_root.exists() else []
    return {
        "attached": sorted(driver._sandboxes),
        "cgroups": sorted(driver.cgroups.existing()),
        "run_dirs": [name for name in runs if not name.startswith(".")],
        "mounts": mounts_under(app.state.settings.data_dir) + mounts_under(run_root),
    }


@pytest.mark.parametrize(
    "body",
    [
        {"command": "true", "cwd": "/work\u0000space"},
        {"command": "true", "env": {"BAD KEY": "x"}},
        {"command": "true", "env": {"OK": "nul\u0000inside"}},
    ],
)
async def test_an_invalid_exec_starts_nothing(
    app: FastAPI, admin: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    r = await admin.post("/v1/exec", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"]
    assert _leftovers(app) == {"attached": [], "cgroups": [], "run_dirs": [], "mounts": []}
    sessions = (await admin.get("/v1/sessions")).json()
    assert sessions["items"] == []


async def test_an_exec_failing_after_the_start_ends_its_sandbox(
    app: FastAPI, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise SandboxError("the command could not start")

    monkeypatch.setattr(app.state.sandbox_driver, "exec", broken)
    r = await admin.post("/v1/exec", json={"command": "true"})
    assert r.status_code == 500, r.text
    assert _leftovers(app) == {"attached": [], "cgroups": [], "run_dirs": [], "mounts": []}


async def test_a_clean_stop_leaves_no_sandbox_and_no_mount(
    settings: Settings, admin: httpx.AsyncClient
) -> None:
    from chasm.app import create_app

    other = create_app(settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"}))
    async with other.router.lifespan_context(other):
        driver = other.state.sandbox_driver
        # A sandbox with no row (a start whose transaction was rolled back).
        from chasm.sandbox import ephemeral
        from chasm.sandbox.drivers.base import SandboxSpec

        sid = "5" * 8 + "-5555-5555-5555-" + "5" * 12
        workdir = ephemeral.create(other.state.settings, sid)
        await driver.start(SandboxSpec(session_id=sid, workspace_dir=workdir))
        assert mounts_under(other.state.settings.data_dir) or mounts_under(driver.run_root)
    assert _leftovers(other) == {"attached": [], "cgroups": [], "run_dirs": [], "mounts": []}


async def test_a_failing_sandbox_exec_job_ends_its_sandbox(
    app: FastAPI, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise SandboxError("the command could not start")

    monkeypatch.setattr(app.state.sandbox.commands, "start", broken)
    created = await admin.post(
        "/v1/jobs", json={"kind": "sandbox.exec", "input": {"ephemeral": True, "command": "true"}}
    )
    assert created.status_code == 201, created.text
    for _ in range(200):
        job = (await admin.get(f"/v1/jobs/{created.json()['id']}")).json()
        if job["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "failed" and "could not start" in job["error"], job
    assert _leftovers(app) == {"attached": [], "cgroups": [], "run_dirs": [], "mounts": []}


async def test_the_reaper_stops_a_running_sandbox_that_no_row_owns(
    app: FastAPI, admin: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from chasm.sandbox import ephemeral
    from chasm.sandbox.drivers.base import SandboxSpec
    from chasm.sessions import lifecycle

    runtime = app.state.sandbox
    kept = (await admin.post("/v1/sessions", json={"ephemeral": True})).json()["id"]
    sid = "6" * 8 + "-6666-6666-6666-" + "6" * 12  # as if its row had been rolled back
    workdir = ephemeral.create(app.state.settings, sid)
    await runtime.driver.start(SandboxSpec(session_id=sid, workspace_dir=workdir))
    runtime.leases.touch(sid)
    await lifecycle.reap_once(runtime, app.state.sessionmaker)
    assert sid in runtime.driver._sandboxes  # recently used: maybe a start not committed yet
    runtime.leases.last_activity[sid] -= lifecycle.ORPHAN_GRACE_S + 1
    await lifecycle.reap_once(runtime, app.state.sessionmaker)
    assert sid in runtime.driver._sandboxes  # attached less than the grace ago (a warm hand-over)
    runtime.driver._attached_at[sid] -= lifecycle.ORPHAN_GRACE_S + 1
    await lifecycle.reap_once(runtime, app.state.sessionmaker)
    assert sorted(runtime.driver._sandboxes) == [kept]
    assert f"stopping stray sandbox {sid}" in caplog.text
    assert not [m for m in mounts_under(app.state.settings.data_dir) if sid in str(m)]
    assert not ephemeral.path(app.state.settings, sid).exists()
    assert (await admin.get(f"/v1/sessions/{kept}")).json()["status"] == "running"

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chasm.kit.db import transaction
from chasm.models import SandboxSession
from chasm.sessions.lifecycle import reap_once, recover
from sessions.fixtures import create_session, make_workspace, other_account_client, scoped_client

pytestmark = pytest.mark.sandbox


async def test_create_ephemeral_session_runs_and_lists(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/v1/sessions", json={"session_type": "sandbox", "ephemeral": True})
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "running"
    assert data["ephemeral"] is True and data["workspace_id"] is None
    assert data["access_token"]
    assert data["endpoints"]["gateway_url"] == f"http://127.0.0.1:8787/s/{data['id']}/"
    assert data["endpoints"]["pty_url"] == f"ws://127.0.0.1:8787/v1/sessions/{data['id']}/pty"
    assert data["endpoints"]["subdomain_url"] is None
    assert data["active_connection_leases"] == 0

    got = (await admin.get(f"/v1/sessions/{data['id']}")).json()
    assert got["id"] == data["id"] and got["access_token"] is None
    listed = (await admin.get("/v1/sessions", params={"status": "running"})).json()
    assert [s["id"] for s in listed["items"]] == [data["id"]] and listed["total"] == 1


async def test_rules_of_004(admin: httpx.AsyncClient, app: FastAPI) -> None:
    no_target = await admin.post("/v1/sessions", json={"session_type": "sandbox"})
    assert no_target.status_code == 400
    browser = await admin.post(
        "/v1/sessions", json={"session_type": "browser", "ephemeral": True, "image": "x"}
    )
    assert browser.status_code == 400 and "image" in browser.json()["error"]["message"]
    unknown = await admin.post("/v1/sessions", json={"session_type": "phone", "ephemeral": True})
    assert unknown.status_code == 400
    await make_workspace(app, "Proj")
    image_on_persistent = await admin.post(
        "/v1/sessions", json={"session_type": "sandbox", "workspace": "proj", "image": "x"}
    )
    assert image_on_persistent.status_code == 400
    both = await admin.post("/v1/sessions", json={"ephemeral": True, "workspace": "proj"})
    assert both.status_code == 400
    await make_workspace(app, "web", session_type="browser")
    mismatch = await admin.post("/v1/sessions", json={"session_type": "sandbox", "workspace": "web"})
    assert mismatch.status_code == 400
    missing = await admin.post("/v1/sessions", json={"session_type": "sandbox", "workspace": "nope"})
    assert missing.status_code == 404
    bad_proxy = await admin.post("/v1/sessions", json={"ephemeral": True, "network": {"mode": "proxy"}})
    assert bad_proxy.status_code == 400


async def test_workspace_create_reuses_live_session(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await make_workspace(app, "Reuse-Me")
    first = await admin.post("/v1/sessions", json={"workspace": "reuse-me"})
    assert first.status_code == 201, first.text
    assert first.json()["workspace_id"] == ws["id"] and first.json()["ephemeral"] is False
    again = await admin.post("/v1/sessions", json={"workspace": ws["id"]})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["access_token"] is None
    by_ws = (await admin.get("/v1/sessions", params={"workspace": "REUSE-ME"})).json()
    assert [s["id"] for s in by_ws["items"]] == [first.json()["id"]]

    await admin.post(f"/v1/sessions/{first.json()['id']}/exec", json={"command": "echo kept > note.txt"})
    assert (await admin.delete(f"/v1/sessions/{first.json()['id']}")).status_code == 200
    fresh = await admin.post("/v1/sessions", json={"workspace": "reuse-me"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    note = await admin.post(f"/v1/sessions/{fresh.json()['id']}/exec", json={"command": "cat note.txt"})
    assert note.json()["output"] == "kept\n"


async def test_terminate_and_bulk_terminate(admin: httpx.AsyncClient) -> None:
    s = await create_session(admin)
    r = await admin.delete(f"/v1/sessions/{s['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "terminated" and r.json()["ended_reason"] == "requested"
    assert r.json()["ended_at"] is not None
    r = await admin.post(f"/v1/sessions/{s['id']}/exec", json={"command": "true"})
    assert r.status_code == 409

    a, b, c = [await create_session(admin) for _ in range(3)]
    bulk = await admin.post("/v1/sessions/bulk-terminate", json={"session_ids": [a["id"], "nope"]})
    assert bulk.json()["terminated"] == [a["id"]]
    assert bulk.json()["failed"][0]["code"] == "session_not_found"
    everything = await admin.post("/v1/sessions/bulk-terminate", json={"all": True})
    assert sorted(everything.json()["terminated"]) == sorted([b["id"], c["id"]])
    assert (await admin.get("/v1/sessions", params={"status": "running"})).json()["total"] == 0
    neither = await admin.post("/v1/sessions/bulk-terminate", json={})
    assert neither.status_code == 400


async def test_another_accounts_session_is_404(admin: httpx.AsyncClient, app: FastAPI) -> None:
    s = await create_session(admin)
    async with await other_account_client(app, admin) as other:
        assert (await other.get(f"/v1/sessions/{s['id']}")).status_code == 404
        assert (await other.delete(f"/v1/sessions/{s['id']}")).status_code == 404
        assert (await other.post(f"/v1/sessions/{s['id']}/exec", json={"command": "id"})).status_code == 404
        download = await other.get(f"/v1/sessions/{s['id']}/download", params={"path": "x"})
        assert download.status_code == 404
        assert (await other.get("/v1/sessions")).json()["total"] == 0


async def test_scopes(admin: httpx.AsyncClient, app: FastAPI) -> None:
    s = await create_session(admin)
    async with await scoped_client(app, admin, ["sessions.read"]) as reader:
        assert (await reader.get(f"/v1/sessions/{s['id']}")).status_code == 200
        assert (await reader.post("/v1/sessions", json={"ephemeral": True})).status_code == 403
        assert (await reader.post(f"/v1/sessions/{s['id']}/exec", json={"command": "id"})).status_code == 403
        assert (await reader.delete(f"/v1/sessions/{s['id']}")).status_code == 403


async def test_self_test_reports_what_the_sandbox_sees(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await make_workspace(app, "diag")
    s = (await admin.post("/v1/sessions", json={"workspace": "diag"})).json()
    r = await admin.post(f"/v1/sessions/{s['id']}/self-test")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["session_id"] == s["id"]
    assert report["workspace_id"] == ws["id"]
    assert report["workspace_root"] == "/workspace"
    assert report["path"]
    assert report["tools"]["sh"] is not None or report["tools"]["bash"] is not None


async def test_recovery_marks_vanished_sessions_terminated(admin: httpx.AsyncClient, app: FastAPI) -> None:
    s = await create_session(admin)
    # The machine died with the previous server process: nothing of it is left to re-attach to.
    await app.state.sandbox_driver.stop(s["id"])
    async with transaction(app.state.sessionmaker) as db:
        row = await db.get(SandboxSession, uuid.UUID(s["id"]))
        assert row is not None
        row.driver_state = {**(row.driver_state or {}), "pid": 0, "child_pid": 0}
    await recover(app.state.sandbox, app.state.sessionmaker)
    got = (await admin.get(f"/v1/sessions/{s['id']}")).json()
    assert got["status"] == "terminated" and got["ended_reason"] == "server_restart"


async def test_reaper_ends_idle_dead_and_old_sessions(admin: httpx.AsyncClient, app: FastAPI) -> None:
    runtime = app.state.sandbox
    alive = await create_session(admin)
    dead = await create_session(admin)
    await app.state.sandbox_driver.stop(dead["id"])
    assert await reap_once(runtime, app.state.sessionmaker) == [dead["id"]]
    assert (await admin.get(f"/v1/sessions/{dead['id']}")).json()["ended_reason"] == "error"

    runtime.settings = runtime.settings.model_copy(update={"session_idle_timeout_s": -1})
    assert await reap_once(runtime, app.state.sessionmaker) == [alive["id"]]
    assert (await admin.get(f"/v1/sessions/{alive['id']}")).json()["ended_reason"] == "idle_timeout"

    runtime.settings = runtime.settings.model_copy(
        update={"session_idle_timeout_s": 3600, "session_max_lifetime_s": -1}
    )
    old = await create_session(admin)
    assert await reap_once(runtime, app.state.sessionmaker) == [old["id"]]
    assert (await admin.get(f"/v1/sessions/{old['id']}")).json()["ended_reason"] == "max_lifetime"


async def test_images_and_github_repo(admin: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    unknown = await admin.post("/v1/sessions", json={"ephemeral": True, "image": "no-such-image"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_image"

    repo = tmp_path / "gh" / "octo" / "demo.git"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("cloned\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "README.md"], ["commit", "-q", "-m", "init"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    runtime = app.state.sandbox
    runtime.settings = runtime.settings.model_copy(update={"github_base_url": f"file://{tmp_path / 'gh'}"})
    s = await create_session(admin, github_repo="octo/demo")
    r = await admin.post(f"/v1/sessions/{s['id']}/exec", json={"command": "cat README.md"})
    assert r.json()["output"] == "cloned\n"
    missing = await admin.post("/v1/sessions", json={"ephemeral": True, "github_repo": "octo/missing"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "repository_clone_failed"

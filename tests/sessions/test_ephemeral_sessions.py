"""Ephemeral sessions: a capped /workspace of their own, and the warm pool that starts them ahead."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from chasm.config import Settings
from chasm.sandbox import ephemeral
from chasm.sessions.lifecycle import recover
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox

CAP = 8 * 1024**2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sandbox_ephemeral_workspace_bytes": CAP})


async def run(admin: httpx.AsyncClient, session_id: str, command: str) -> dict[str, object]:
    response = await admin.post(f"/v1/sessions/{session_id}/exec", json={"command": command})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def pool_filled(app: FastAPI) -> set[str]:
    pool = app.state.sandbox.pool
    for _ in range(1000):
        if len(pool.session_ids()) == pool.size:
            return set(pool.session_ids())
        await asyncio.sleep(0.01)
    raise AssertionError("the warm pool did not fill")


async def test_workspace_is_capped_and_a_full_one_breaks_nothing_else(admin: httpx.AsyncClient) -> None:
    s = await create_session(admin)
    full = await run(admin, s["id"], "head -c 16M /dev/zero > /workspace/big; echo rc=$?")
    assert "No space left on device" in str(full["output"]) and "rc=1" in str(full["output"])
    after = await run(admin, s["id"], "du -k /workspace/big | cut -f1; echo tmp > /tmp/t && cat /tmp/t")
    size_kib, tmp = str(after["output"]).split()
    assert int(size_kib) <= CAP // 1024 and tmp == "tmp"
    other = await create_session(admin)
    assert (await run(admin, other["id"], "echo x > /workspace/x && ls /workspace"))["output"] == "x\n"
    assert (await admin.delete(f"/v1/sessions/{s['id']}")).status_code == 200


async def test_warm_pool_hands_each_sandbox_to_one_session_only(
    admin: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    first = await create_session(admin)  # the pool fills on first use
    warm = await pool_filled(app)
    second = await create_session(admin)
    assert second["id"] in warm and second["status"] == "running"
    assert second["id"] not in app.state.sandbox.pool.session_ids()
    await run(admin, first["id"], "echo secret > /workspace/mine; echo secret > /tmp/mine")
    seen = await run(admin, second["id"], "ls -A /workspace /tmp; echo $CHASM_SESSION_ID; id -u")
    assert str(seen["output"]).split() == ["/tmp:", "/workspace:", second["id"], "1000"]

    # Sessions needing anything but the plain default never take a pooled sandbox.
    with_env = await create_session(admin, env={"A": "1"})
    assert with_env["id"] not in warm
    assert (await run(admin, with_env["id"], "echo $A"))["output"] == "1\n"

    # A crashed server's workspaces are cleaned up at start; live and pooled ones are kept.
    stray = ephemeral.create(settings, "00000000-0000-0000-0000-000000000000")
    await recover(app.state.sandbox, app.state.sessionmaker)
    assert not stray.exists()
    for sid in [second["id"], *app.state.sandbox.pool.session_ids()]:
        assert ephemeral.path(settings, sid).is_dir()

    # Unclaimed sandboxes are stopped with the server; claimed ones end with their session.
    pooled = await pool_filled(app)
    await app.state.sandbox.pool.close()
    assert not pooled & set(app.state.sandbox_driver._sandboxes)
    assert not any(ephemeral.path(settings, sid).exists() for sid in pooled)
    assert (await admin.delete(f"/v1/sessions/{second['id']}")).status_code == 200
    assert not ephemeral.path(settings, second["id"]).exists()

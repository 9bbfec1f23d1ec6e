"""Per-session caps on background commands: how many run at once, and how much output they keep
on the host's disk (the oldest finished output is dropped; when running commands hold it all, a
new command is refused)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chasm.config import Settings

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "command_output_max_bytes": 100_000,
            "session_command_output_max_bytes": 350_000,
            "session_max_background_commands": 4,
            "session_reaper_interval_s": 3600.0,
        }
    )


async def _bg(admin: httpx.AsyncClient, sid: str, command: str) -> httpx.Response:
    return await admin.post(f"/v1/sessions/{sid}/exec", json={"command": command, "background": True})


async def _ended(admin: httpx.AsyncClient, sid: str, cid: str) -> dict[str, Any]:
    for _ in range(200):
        body: dict[str, Any] = (await admin.get(f"/v1/sessions/{sid}/commands/{cid}")).json()
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{cid} still running")


async def test_running_commands_per_session_are_capped(
    app: FastAPI, admin: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    app.state.sandbox.commands.session_cap_bytes = 10**9  # only the count limits here
    sid = sandbox["id"]
    for _ in range(4):
        assert (await _bg(admin, sid, "sleep 30")).status_code == 200
    refused = await _bg(admin, sid, "sleep 30")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_commands"
    assert (
        "4 background commands" in error["message"] and "session_max_background_commands" in error["message"]
    )


async def test_output_on_disk_is_capped_per_command_and_per_session(
    app: FastAPI, admin: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    sid = sandbox["id"]
    flood = "head -c 300000 /dev/zero | tr '\\0' x"
    floods = []
    for _ in range(4):
        floods.append((await _bg(admin, sid, flood)).json()["command_id"])
        ended = await _ended(admin, sid, floods[-1])
        assert ended["output_bytes"] == 100_000 and ended["output_truncated"] is True
    # The fourth needed room: the oldest finished command's output was dropped (it left the list).
    listed = [c["id"] for c in (await admin.get(f"/v1/sessions/{sid}/commands")).json()["items"]]
    assert listed == floods[1:]
    assert (await admin.get(f"/v1/sessions/{sid}/commands/{floods[0]}")).status_code == 404
    # Running commands hold their whole cap: once they hold the session's budget, refuse.
    for _ in range(3):
        assert (await _bg(admin, sid, "sleep 30")).status_code == 200
    refused = await _bg(admin, sid, "sleep 30")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "command_output_limit"
    assert "350000 bytes" in refused.json()["error"]["message"]
    assert len((await admin.get(f"/v1/sessions/{sid}/commands")).json()["items"]) == 3
    root = app.state.settings.data_dir / "sandboxes" / "commands" / sid
    assert sum(p.stat().st_size for p in root.glob("*.log")) < 350_000

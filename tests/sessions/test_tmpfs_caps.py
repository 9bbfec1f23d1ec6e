"""A session's memory-backed filesystems (ephemeral /workspace, /tmp, /dev/shm) fit under its
plan's memory limit."""

from __future__ import annotations

import httpx
import pytest

from chasm.config import Settings
from chasm.sandbox.limits import tmpfs_caps
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox

SMALL = 256 * 1024**2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The bootstrap owner's personal account is on the default plan, "paid".
    return settings.model_copy(update={"sandbox_plan_limits": {"paid": {"memory_bytes": SMALL}}})


async def test_caps_shrink_with_a_small_plan(admin: httpx.AsyncClient, settings: Settings) -> None:
    caps = tmpfs_caps(settings, SMALL)
    default = tmpfs_caps(settings, settings.sandbox_memory_bytes)
    assert all(cap < full for cap, full in zip(caps, default, strict=True)) and sum(caps) <= SMALL * 3 // 4
    session = await create_session(admin)
    df = "df -B1 --output=size /workspace /tmp /dev/shm | tail -n 3"
    result = await admin.post(f"/v1/sessions/{session['id']}/exec", json={"command": df})
    assert result.status_code == 200, result.text
    assert [int(size) for size in result.json()["output"].split()] == [cap // 4096 * 4096 for cap in caps]

"""Sandbox limits come from the settings, overridden per account plan."""

from __future__ import annotations

import httpx
import pytest

from chasm.config import Settings
from chasm.sandbox.limits import limits_for
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The bootstrap owner's personal account is on the default plan, "paid".
    return settings.model_copy(
        update={"sandbox_nofile": 2000, "sandbox_plan_limits": {"paid": {"nofile": 777, "pids": 64}}}
    )


def test_plan_overrides_apply_field_by_field(settings: Settings) -> None:
    paid = limits_for(settings, "paid")
    assert (paid.nofile, paid.pids, paid.memory_bytes) == (777, 64, settings.sandbox_memory_bytes)
    assert limits_for(settings, "free").nofile == 2000
    assert limits_for(settings, None).pids == settings.sandbox_pids


async def test_a_session_runs_under_its_plan_limits(admin: httpx.AsyncClient) -> None:
    for _ in range(2):  # also when the warm pool (started with the defaults) has sandboxes ready
        session = await create_session(admin)
        result = await admin.post(f"/v1/sessions/{session['id']}/exec", json={"command": "ulimit -n"})
        assert result.status_code == 200, result.text
        assert result.json()["output"].strip() == "777"

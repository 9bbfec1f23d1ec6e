"""Fixtures for the bubblewrap driver tests: a driver on a fresh data directory, started sandboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chasm.config import Settings
from chasm.sandbox.drivers.base import SandboxInfo, SandboxSpec
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver

StartSandbox = Callable[..., Awaitable[SandboxInfo]]

# Behaviour only the in-sandbox agent has (pid 1 of its own, commands that outlive the server's
# connection): such a test runs with the agent alone instead of being skipped on the nsenter path.
agent_only = pytest.mark.parametrize("sandbox_settings", [True], ids=["agent"], indirect=True)


@pytest.fixture(params=[True, False], ids=["agent", "nsenter"])
def sandbox_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Every driver test runs twice: commands through the agent, and entered with nsenter (the
    fallback where no C compiler can build the agent); `agent_only` tests run with the agent."""
    return Settings(data_dir=tmp_path / "data", secret_key="test", sandbox_agent=request.param)


@pytest.fixture
async def driver(sandbox_settings: Settings) -> AsyncIterator[BubblewrapDriver]:
    driver = BubblewrapDriver(sandbox_settings)
    if sandbox_settings.sandbox_agent and driver.agent is None:
        pytest.skip("no C compiler (or static libc) here to build the sandbox agent")
    yield driver
    for session_id in list(driver._sandboxes):
        await driver.stop(session_id)


@pytest.fixture
def start(driver: BubblewrapDriver, tmp_path: Path) -> StartSandbox:
    async def start(session_id: str, workspace: Path | None = None, **kwargs: Any) -> SandboxInfo:
        ws = workspace or tmp_path / "workspaces" / session_id
        ws.mkdir(parents=True, exist_ok=True)
        return await driver.start(SandboxSpec(session_id=session_id, workspace_dir=ws, **kwargs))

    return start

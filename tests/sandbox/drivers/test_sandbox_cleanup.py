"""Stopping a sandbox never deletes its workspace: the runtime directory holds a bind mount of it,
and is removed only once every mount under it is detached."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from chasm.sandbox.drivers import layout
from chasm.sandbox.drivers.base import SandboxInfo
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver
from chasm.sandbox.drivers.mounts import mounts_under

StartSandbox = Callable[..., Awaitable[SandboxInfo]]

pytestmark = pytest.mark.sandbox


@pytest.mark.skipif(os.geteuid() != 0, reason="the workspace is staged by a bind mount only as root")
async def test_a_stacked_staging_mount_is_detached_before_the_runtime_dir_goes(
    driver: BubblewrapDriver, start: StartSandbox, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspaces" / "s1"
    await start("s1", workspace=workspace)
    await driver.exec("s1", "echo precious > /workspace/keep")
    staged = driver.run_root / "s1" / "workspace"
    layout.bind_mount(workspace, staged)  # a second mount stacked on the staging mount point

    await driver.stop("s1")
    assert (workspace / "keep").read_text() == "precious\n"
    assert not mounts_under(driver.run_root / "s1") and not (driver.run_root / "s1").exists()

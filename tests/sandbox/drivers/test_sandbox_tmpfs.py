"""Every writable filesystem of a sandbox is capped, below its memory limit: a full one is ENOSPC
(or, for bwrap's own / and /dev, EROFS), never an out-of-memory kill of the session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from chasm.config import Settings
from chasm.sandbox.drivers.base import Limits, SandboxInfo
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver
from chasm.sandbox.limits import tmpfs_caps

StartSandbox = Callable[..., Awaitable[SandboxInfo]]

pytestmark = pytest.mark.sandbox

MEMORY = 96 * 1024**2
FILL = "head -c {size} /dev/zero > {path}; echo rc=$?; stat -c %s {path}"


async def test_full_tmpfs_is_enospc_and_the_session_lives_on(
    driver: BubblewrapDriver, start: StartSandbox, sandbox_settings: Settings
) -> None:
    await start("s1", limits=Limits(memory_bytes=MEMORY))
    _, tmp, shm = tmpfs_caps(sandbox_settings, MEMORY)
    sizes = await driver.exec("s1", "df -B1 --output=size /tmp /dev/shm | tail -n 2")
    assert [int(n) for n in sizes.output.split()] == [tmp // 4096 * 4096, shm // 4096 * 4096]
    for path, cap in (("/tmp/fill", tmp), ("/dev/shm/fill", shm)):
        full = await driver.exec("s1", FILL.format(size=cap + 1024**2, path=path))
        assert "No space left on device" in full.output and "rc=1" in full.output, full.output
        assert int(full.output.split()[-1]) <= cap
    # Both full at once, and the processes still have room: nothing was killed.
    readonly = await driver.exec("s1", "touch /x; touch /dev/x; mkdir /var; echo ok > /dev/null && echo end")
    assert readonly.output.count("Read-only file system") == 3 and readonly.output.endswith("end\n")
    status = await driver.status("s1")
    assert status.running and not status.oom_killed
    assert (await driver.exec("s1", "rm /tmp/fill /dev/shm/fill && echo alive")).output == "alive\n"


def test_caps_stay_below_the_memory_limit() -> None:
    settings = Settings(secret_key="test")
    workspace, tmp, shm = tmpfs_caps(settings, settings.sandbox_memory_bytes)
    assert (workspace, tmp, shm) == (
        settings.sandbox_ephemeral_workspace_bytes,
        settings.sandbox_tmp_bytes,
        settings.sandbox_shm_bytes,
    )
    assert workspace + tmp + shm <= settings.sandbox_memory_bytes * 3 // 4
    small = tmpfs_caps(settings, 64 * 1024**2)
    assert sum(small) <= 48 * 1024**2 and small[1] == 2 * small[2]  # scaled together
    assert tmpfs_caps(settings, 8 * 1024**3) == (workspace, tmp, shm)  # never grown
    assert tmpfs_caps(settings, None) == (workspace, tmp, shm)

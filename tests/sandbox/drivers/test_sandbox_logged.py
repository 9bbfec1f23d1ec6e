"""Logged background commands (`spawn_logged`): output, caps and the exit status go to a log of
frames on the host; through the agent they outlive the connection that started them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from chasm.sandbox.drivers import cmdlog
from chasm.sandbox.drivers.base import LoggedProcess
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver

from .conftest import StartSandbox, agent_only

pytestmark = pytest.mark.sandbox


def _read(path: Path) -> tuple[dict[str, bytes], list[int]]:
    data = path.read_bytes()
    out: dict[str, bytes] = {"stdout": b"", "stderr": b""}
    kinds = []
    for kind, position, length in cmdlog.frames(data, 0):
        kinds.append(kind)
        if kind in cmdlog.STREAMS:
            chunk = data[position : position + length]
            chunk.decode()  # every frame ends on a character boundary
            out[cmdlog.STREAMS[kind]] += chunk
    return out, kinds


async def _spawn(driver: BubblewrapDriver, path: Path, command: str, cap: int = 1 << 20) -> LoggedProcess:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return await driver.spawn_logged("s1", command, log_fd=fd, cap=cap)
    finally:
        os.close(fd)


async def test_output_stdin_and_exit_go_to_the_log(
    driver: BubblewrapDriver, start: StartSandbox, tmp_path: Path
) -> None:
    await start("s1")
    log = tmp_path / "c.log"
    script = "printf 'h\\303\\251llo\\n'; read x; echo got $x; echo oops >&2; exit 5"
    process = await _spawn(driver, log, script)
    await process.write_stdin(b"input\n")
    assert await process.wait() == 5
    out, kinds = _read(log)
    assert out == {"stdout": "héllo\ngot input\n".encode(), "stderr": b"oops\n"}
    assert kinds[-1] == cmdlog.EXIT


async def test_the_cap_truncates_on_a_character_boundary(
    driver: BubblewrapDriver, start: StartSandbox, tmp_path: Path
) -> None:
    await start("s1")
    log = tmp_path / "c.log"
    process = await _spawn(driver, log, "for i in $(seq 2000); do printf 'é'; done; echo done", cap=1001)
    assert await process.wait() == 0
    out, kinds = _read(log)
    assert out["stdout"] == "é".encode() * 500
    assert kinds.count(cmdlog.TRUNCATED) == 1 and kinds[-1] == cmdlog.EXIT


@agent_only  # only the agent keeps a command's output when the server is gone
async def test_a_command_outlives_its_watcher_and_can_be_attached(
    driver: BubblewrapDriver, start: StartSandbox, tmp_path: Path
) -> None:
    await start("s1")
    log = tmp_path / "c.log"
    first = await _spawn(driver, log, "echo a; sleep 0.5; echo b; sleep 30")
    first.close()  # the server went away
    await asyncio.sleep(1.0)
    out, _ = _read(log)
    assert out["stdout"] == b"a\nb\n"
    again = await driver.attach("s1", first.pid)
    assert again is not None
    await again.signal(9)
    assert await again.wait() == -9
    assert _read(log)[1][-1] == cmdlog.EXIT
    assert await driver.attach("s1", first.pid) is None

"""Processes started inside a bubblewrap sandbox: process trees, output pumps, PTYs."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from chasm.sandbox.drivers import cmdlog
from chasm.sandbox.drivers.base import OutputChunk

READ_SIZE = 65536


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children first-level first), read from /proc."""
    found: list[int] = []
    queue = [pid]
    while queue:
        current = queue.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            with contextlib.suppress(OSError):
                for child in Path(f"/proc/{current}/task/{tid}/children").read_text().split():
                    found.append(int(child))
                    queue.append(int(child))
    return found


def kill_tree(pid: int, signum: int = signal.SIGKILL, *, include_root: bool = True) -> None:
    """Signal `pid`, its process group and every descendant (also those that left the group)."""
    targets = descendants(pid)
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)
        targets.append(pid)
    for target in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signum)


def inner_pid(host_pid: int) -> int | None:
    """The pid a host process has in the innermost pid namespace it belongs to."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{host_pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return None


async def sandbox_pid(launcher_pid: int) -> int:
    """nsenter forks the command into the sandbox's pid namespace: find that child's pid there."""
    for _ in range(200):
        for child in descendants(launcher_pid):
            pid = inner_pid(child)
            if pid is not None:
                return pid
        await asyncio.sleep(0.001)
    return 0


class Command(Protocol):
    """A command running in a sandbox, however it was started (agent or nsenter)."""

    pid: int  # inside the sandbox (0 when unknown)
    stdin: asyncio.StreamWriter | None
    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...

    async def signal(self, signum: int) -> None:
        """Signal the command and every process it started."""
        ...

    async def kill(self) -> None:
        """SIGKILL the command, every process it started and whatever runs it on the host."""
        ...

    async def communicate(self, data: bytes | None = None) -> tuple[bytes, bytes]: ...


class NsenterCommand:
    """A command entered from the host with nsenter: `proc` is the host-side launcher, whose
    exit status is the command's."""

    def __init__(self, proc: asyncio.subprocess.Process, pid: int = 0) -> None:
        self.proc = proc
        self.pid = pid
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def wait(self) -> int:
        return await self.proc.wait()

    async def signal(self, signum: int) -> None:
        kill_tree(self.proc.pid, signum, include_root=False)  # not nsenter: it reports the status

    async def kill(self) -> None:
        kill_tree(self.proc.pid)

    async def communicate(self, data: bytes | None = None) -> tuple[bytes, bytes]:
        out, err = await self.proc.communicate(data)
        return out or b"", err or b""


class BwrapProcess:
    """A background command or terminal, implementing `SandboxProcess`."""

    def __init__(self, proc: Command, master_fd: int | None = None) -> None:
        self.proc = proc
        self.pid = proc.pid
        self._master = master_fd
        self._queue: asyncio.Queue[OutputChunk | None] = asyncio.Queue()
        self._open = 0
        loop = asyncio.get_running_loop()
        if master_fd is not None:
            os.set_blocking(master_fd, False)
            self._open = 1
            loop.add_reader(master_fd, self._pty_readable)
        else:
            for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
                if stream is not None:
                    self._open += 1
                    asyncio.create_task(self._pump(name, stream))

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        try:
            while data := await stream.read(READ_SIZE):
                self._queue.put_nowait(OutputChunk(name, data))
        finally:
            self._queue.put_nowait(None)

    def _pty_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave end is closed, the terminal's programs are gone
            data = b""
        if data:
            self._queue.put_nowait(OutputChunk("pty", data))
            return
        asyncio.get_running_loop().remove_reader(self._master)
        self._queue.put_nowait(None)

    async def output(self) -> AsyncIterator[OutputChunk]:
        while self._open:
            chunk = await self._queue.get()
            if chunk is None:
                self._open -= 1
                continue
            yield chunk
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None

    async def write_stdin(self, data: bytes) -> None:
        if self._master is not None:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    await asyncio.sleep(0.005)
            return
        if self.proc.stdin is None or self.proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self._master is not None:
            await self.write_stdin(b"\x04")  # a terminal has no half-close: send EOF (^D)
        elif self.proc.stdin is not None:
            self.proc.stdin.close()

    async def signal(self, signum: int) -> None:
        """Deliver `signum` to the command and every process it started."""
        await self.proc.signal(signum)

    async def resize(self, cols: int, rows: int) -> None:
        if self._master is not None:
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    async def wait(self) -> int:
        return await self.proc.wait()


def open_pty(cols: int, rows: int) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def starttime(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: tells a live process from a later one reusing its pid.
    None when there is no such process or it has already exited (a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def alive(pid: int, started: str | None) -> bool:
    """Whether `pid` is still the process that started at `started` (see `starttime`)."""
    return pid > 0 and started is not None and starttime(pid) == started


async def read_line(fd: int, size: int | None = None) -> bytes:
    """Read one line (or `size` bytes) from a pipe without blocking the event loop."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    buffer = bytearray()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            return
        buffer.extend(chunk)
        finished = not chunk or (size is not None and len(buffer) >= size) or b"\n" in buffer
        if finished and not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return bytes(buffer.split(b"\n", 1)[0] if size is None else buffer[:size])


class PumpedCommand:
    """A logged command started through nsenter: this process pumps its pipes into the log
    (so, unlike with the agent, the command loses its output when the server stops)."""

    def __init__(self, proc: Command, writer: cmdlog.Writer) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.writer = writer
        self.on_output: Callable[[], None] | None = None
        self._done = asyncio.create_task(self._run())

    async def _pump(self, name: str, stream: asyncio.StreamReader | None) -> None:
        while stream is not None and (data := await stream.read(READ_SIZE)):
            self.writer.output(name, data)
            if self.on_output is not None:
                self.on_output()

    async def _run(self) -> int:
        await asyncio.gather(self._pump("stdout", self.proc.stdout), self._pump("stderr", self.proc.stderr))
        code = await self.proc.wait()
        self.writer.exit(code)
        os.close(self.writer.fd)
        return code

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    async def write_stdin(self, data: bytes) -> None:
        if self.proc.stdin is None or self.proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()

    async def signal(self, signum: int) -> None:
        await self.proc.signal(signum)

    def close(self) -> None:
        self._done.cancel()

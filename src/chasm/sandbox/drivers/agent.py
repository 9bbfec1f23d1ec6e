"""The sandbox agent (agent.c): building it once, and starting commands through it.

The agent is the sandbox's pid 1. The server reaches it on the abstract unix socket `chasm-agent`
of the sandbox's network namespace (a socket made there with setns, like the port forwards), hands
it the command's stdin/stdout/stderr as file descriptors it created itself, and gets back the pid,
then the exit status. A command therefore costs one fork inside the sandbox instead of a chain of
host processes entering the namespaces and joining the cgroups.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
from array import array
from collections.abc import Callable
from pathlib import Path

from chasm.sandbox.drivers.base import SandboxError, SandboxGone
from chasm.sandbox.drivers.netns import socket_in_netns

log = logging.getLogger("chasm.sessions")

SOURCE = Path(__file__).with_name("agent.c")
ADDRESS = b"\0chasm-agent"
MAX_REQUEST = (1 << 20) - 1  # the agent's buffer (agent.c MAX_REQUEST), less the kind byte
HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def build(cache_dir: Path) -> Path | None:
    """The agent binary for this source, compiled once (static, so it runs in any image) and
    cached by the source's hash; None where no C compiler (or static libc) is available."""
    source = SOURCE.read_bytes()
    target = cache_dir / f"chasm-agent-{hashlib.sha256(source).hexdigest()[:16]}"
    if target.exists():
        return target
    compiler = shutil.which("cc", path=HOST_PATH) or shutil.which("gcc", path=HOST_PATH)
    if compiler is None:
        log.warning("no C compiler: sandbox commands go through nsenter (slower)")
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f"{target.name}.{os.getpid()}.partial"
    result = subprocess.run(
        [compiler, "-O2", "-static", "-s", "-o", str(partial), "-x", "c", "-"],
        input=source,
        capture_output=True,
        timeout=300,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        log.warning(
            "could not build the sandbox agent (%s): sandbox commands go through nsenter",
            result.stderr.decode(errors="replace").strip()[-500:],
        )
        return None
    partial.chmod(0o755)
    partial.rename(target)
    return target


def _request(
    cwd: str, command: str, env: dict[str, str], terminal: bool, log_cap: int | None = None
) -> bytes:
    flags = b"l%d" % log_cap if log_cap is not None else b"t" if terminal else b"-"
    fields = [flags, cwd.encode(), command.encode()]
    fields += [f"{name}={value}".encode() for name, value in env.items()]
    payload = b"X" + b"".join(field + b"\0" for field in fields)
    if len(payload) > MAX_REQUEST:
        raise SandboxError(
            "The command and its environment are too large", status_code=400, code="bad_request"
        )
    return payload


class _PipeReading(asyncio.StreamReaderProtocol):
    """A stream reader on a pipe, whose transport closes (and closes the pipe) at end of file.
    StreamReaderProtocol keeps a transport open after EOF for the other half of a socket; asyncio's
    own pipe transport closes anyway, uvloop's keeps the pipe open until the collector finds it."""

    def eof_received(self) -> bool:
        super().eof_received()
        return False


async def _reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    pipe = open(fd, "rb", 0)  # noqa: SIM115 - the transport owns and closes it
    transport, _ = await loop.connect_read_pipe(lambda: _PipeReading(reader, loop=loop), pipe)
    return reader, transport


async def _writer(fd: int) -> asyncio.StreamWriter:
    loop = asyncio.get_running_loop()
    pipe = open(fd, "wb", 0)  # noqa: SIM115 - the transport owns and closes it
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop=loop), pipe
    )
    return asyncio.StreamWriter(transport, protocol, None, loop)


class AgentCommand:
    """A command the agent started: the host ends of its pipes, its pid inside, its exit status."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid
        self.returncode: int | None = None
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None
        self.on_output: Callable[[], None] | None = None  # logged commands: output was appended
        self._pipes: list[asyncio.BaseTransport] = []  # stdout and stderr: closed at their EOF or by close()
        self._exit = asyncio.create_task(self._receive_exit())

    @classmethod
    async def start_logged(
        cls, ns_pid: int, command: str, cwd: str, env: dict[str, str], *, log_fd: int, cap: int
    ) -> AgentCommand:
        """Start `command` with stdin a pipe from here and its output going, through the agent,
        to the log file `log_fd` (frames, see agent.c), at most `cap` bytes of it. The command,
        its log and its exit status outlive this process."""
        payload = _request(cwd, command, env, False, log_cap=cap)
        stdin_r, stdin_w = os.pipe()
        try:
            sock = await _connect(ns_pid)
            try:
                sock.sendmsg(
                    [payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", [stdin_r, log_fd]))]
                )
                reply = await asyncio.get_running_loop().sock_recv(sock, 4096)
            except OSError as exc:
                sock.close()
                raise SandboxGone(f"The sandbox's agent is not answering: {exc}") from exc
        except BaseException:
            os.close(stdin_w)
            raise
        finally:
            os.close(stdin_r)
        if not reply.startswith(b"P"):
            sock.close()
            os.close(stdin_w)
            if not reply:
                raise SandboxGone("The sandbox's agent hung up")
            raise SandboxError(f"Could not start the command: {reply[1:].decode(errors='replace')}")
        command_ = cls(sock, int(reply[1:]))
        command_.stdin = await _writer(stdin_w)
        return command_

    @classmethod
    async def attach(cls, ns_pid: int, pid: int) -> AgentCommand | None:
        """The logged command `pid` still running in the sandbox (after a server restart), or None."""
        try:
            sock = await _connect(ns_pid)
        except SandboxGone:
            return None
        try:
            sock.send(b"A%d" % pid)
            reply = await asyncio.get_running_loop().sock_recv(sock, 4096)
        except OSError:
            reply = b""
        if not reply.startswith(b"P"):
            sock.close()
            return None
        return cls(sock, pid)

    @classmethod
    async def start(
        cls,
        ns_pid: int,
        command: str,
        cwd: str,
        env: dict[str, str],
        *,
        stdin: bool = False,
        stderr: bool = True,
        terminal_fd: int | None = None,
    ) -> AgentCommand:
        """Start `command`; stdout is a pipe, stderr a pipe of its own or (stderr=False) the same
        one as stdout; with `terminal_fd`, the terminal is all three (and the controlling one)."""
        payload = _request(cwd, command, env, terminal_fd is not None)
        ours: list[int] = []  # the host ends, kept
        theirs: list[int] = []  # the command's ends, closed once handed over
        try:
            if terminal_fd is not None:
                fds = [terminal_fd] * 3
            else:
                if stdin:
                    r, w = os.pipe()
                    ours.append(w)
                    theirs.append(r)
                else:
                    theirs.append(os.open(os.devnull, os.O_RDONLY))
                for _ in range(2 if stderr else 1):
                    r, w = os.pipe()
                    ours.append(r)
                    theirs.append(w)
                fds = theirs if stderr else [theirs[0], theirs[1], theirs[1]]
            sock = await _connect(ns_pid)
            try:
                sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", fds))])
                reply = await asyncio.get_running_loop().sock_recv(sock, 4096)
            except OSError as exc:
                sock.close()
                raise SandboxGone(f"The sandbox's agent is not answering: {exc}") from exc
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        if not reply.startswith(b"P"):
            sock.close()
            for fd in ours:
                os.close(fd)
            if not reply:
                raise SandboxGone("The sandbox's agent hung up")
            raise SandboxError(f"Could not start the command: {reply[1:].decode(errors='replace')}")
        command_ = cls(sock, int(reply[1:]))
        if terminal_fd is None:
            fds_left = list(ours)
            if stdin:
                command_.stdin = await _writer(fds_left.pop(0))
            command_.stdout, pipe = await _reader(fds_left.pop(0))
            command_._pipes.append(pipe)
            if stderr:
                command_.stderr, pipe = await _reader(fds_left.pop(0))
                command_._pipes.append(pipe)
        return command_

    async def _receive_exit(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            while (message := await loop.sock_recv(self.sock, 64)) == b"O":
                if self.on_output is not None:
                    self.on_output()
        except OSError:
            message = b""
        finally:
            self.sock.close()
        # Without a report the agent (and so the whole sandbox) is gone: the command was killed.
        status = int(message[1:]) if message.startswith(b"E") else None
        self.returncode = os.waitstatus_to_exitcode(status) if status is not None else -signal.SIGKILL
        return self.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    async def write_stdin(self, data: bytes) -> None:
        if self.stdin is None or self.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self.stdin.write(data)
            await self.stdin.drain()

    async def close_stdin(self) -> None:
        if self.stdin is not None:
            self.stdin.close()

    def close(self) -> None:
        """Hang up (the server stops): the command runs on, and the agent still logs it."""
        if self.stdin is not None:
            self.stdin.close()
        for pipe in self._pipes:
            pipe.close()
        self._exit.cancel()
        self.sock.close()

    async def signal(self, signum: int) -> None:
        """Signal the command, its process group and every process it started."""
        if not self._exit.done():
            with contextlib.suppress(OSError):
                self.sock.send(b"K%d" % signum)

    async def kill(self) -> None:
        await self.signal(signal.SIGKILL)

    async def communicate(self, data: bytes | None = None) -> tuple[bytes, bytes]:
        async def feed() -> None:
            if self.stdin is not None:
                with contextlib.suppress(ConnectionError):
                    if data:
                        self.stdin.write(data)
                        await self.stdin.drain()
                self.stdin.close()

        async def read(stream: asyncio.StreamReader | None) -> bytes:
            return await stream.read() if stream is not None else b""

        _, out, err = await asyncio.gather(feed(), read(self.stdout), read(self.stderr))
        await self.wait()
        return out, err


async def _connect(ns_pid: int) -> socket.socket:
    """A connection to the agent of the sandbox whose pid 1 is `ns_pid` (host pid)."""
    try:
        sock = socket_in_netns(ns_pid, socket.AF_UNIX, socket.SOCK_SEQPACKET)
    except OSError as exc:
        raise SandboxGone(f"The sandbox is gone: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_REQUEST + 4096)
        await asyncio.get_running_loop().sock_connect(sock, ADDRESS)
    except OSError as exc:
        sock.close()
        raise SandboxGone(f"The sandbox's agent is not answering: {exc}") from exc
    return sock

"""The narrow interface between the sessions service and whatever isolates a sandbox.

The service layer (sessions, exec, files, gateway, workspaces) only ever talks to a
`SandboxDriver`. The default driver is `bubblewrap` (namespaces + cgroups); a microVM driver
(Firecracker / Cloud Hypervisor) or a Kubernetes driver implements the same interface.
Policy (quotas, leases, reuse of a live session, idle timeouts) lives in the service, never here.
Foreign errors (subprocess, OS) are translated to `SandboxError` at this boundary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chasm.kit.errors import ChasmError


class SandboxError(ChasmError):
    status_code = 500
    code = "sandbox_error"


class SandboxGone(SandboxError):
    status_code = 409
    code = "session_not_running"


class PathNotAllowed(SandboxError):
    """A file path outside /workspace and /tmp, or escaping them through `..` or a symlink."""

    status_code = 400
    code = "path_not_allowed"


class SandboxFileNotFound(SandboxError):
    status_code = 404
    code = "file_not_found"


class SandboxFileTooLarge(SandboxError):
    status_code = 413
    code = "file_too_large"


class SandboxNoSpace(SandboxError):
    """The workspace disk is full (its quota is reached)."""

    status_code = 507
    code = "no_space_left"


class SandboxFileTimeout(SandboxError):
    """A file helper did not finish in time (say, a FIFO swapped in for the file while it ran)."""

    status_code = 504
    code = "file_timeout"


class PortUnreachable(SandboxError):
    """Nothing listens on that port inside the sandbox."""

    status_code = 502
    code = "port_unreachable"


class UnknownImage(SandboxError):
    status_code = 400
    code = "unknown_image"


@dataclass
class Limits:
    memory_bytes: int | None = 512 * 1024 * 1024
    pids: int | None = 256
    cpu_quota: float | None = 1.0  # CPUs
    nofile: int = 4096
    fsize_bytes: int | None = None  # RLIMIT_FSIZE, largest file a process may write
    cpu_seconds: int | None = None  # RLIMIT_CPU, CPU time per process


@dataclass
class NetworkSpec:
    mode: str = "none"  # none | direct | proxy
    proxy_url: str | None = None
    proxy_username: str | None = None
    proxy_password: str | None = None


@dataclass
class SandboxSpec:
    session_id: str
    workspace_dir: Path  # host directory mounted at /workspace
    workspace_id: str | None = None
    image_root: Path | None = None  # a registered root filesystem; None: the host's system, read-only
    env: dict[str, str] = field(default_factory=dict)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    limits: Limits = field(default_factory=Limits)


@dataclass
class SandboxInfo:
    session_id: str
    pid: int  # host pid of the sandbox's supervisor (killing it ends everything)
    state: dict[str, Any] = field(default_factory=dict)  # persisted by the service for recovery


@dataclass
class SandboxStatus:
    running: bool
    oom_killed: bool = False
    memory_bytes: int | None = None


@dataclass
class ExecResult:
    exit_code: int | None  # None when killed by the timeout
    output: str  # stdout and stderr interleaved as produced
    output_truncated: bool = False
    timed_out: bool = False
    duration_ms: float = 0.0


@dataclass
class OutputChunk:
    stream: str  # stdout | stderr | pty
    data: bytes


class SandboxProcess(Protocol):
    """A process started inside a sandbox (background command or PTY)."""

    pid: int  # pid inside the sandbox

    def output(self) -> AsyncIterator[OutputChunk]:
        """Chunks as produced, until the process's output closes."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def signal(self, signum: int) -> None: ...

    async def resize(self, cols: int, rows: int) -> None:
        """PTY only."""
        ...

    async def wait(self) -> int:
        """The exit code (negative signal number when killed by a signal)."""
        ...


class LoggedProcess(Protocol):
    """A background command whose output goes to a log file (frames, see `cmdlog`), not to this
    process: with the agent, the command, its log and its exit status outlive the server."""

    pid: int  # pid inside the sandbox
    on_output: Callable[[], None] | None  # called (best effort) when output was appended

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def signal(self, signum: int) -> None: ...

    async def wait(self) -> int:
        """The exit code (negative signal number; -9 when the sandbox went away under it)."""
        ...

    def close(self) -> None:
        """Stop watching; the command itself runs on."""
        ...


class SandboxDriver(Protocol):
    name: str

    async def start(self, spec: SandboxSpec) -> SandboxInfo: ...

    async def status(self, session_id: str) -> SandboxStatus: ...

    async def stop(self, session_id: str) -> None:
        """Kill every process of the sandbox and release its resources. Idempotent."""
        ...

    async def exec(
        self,
        session_id: str,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout_ms: int | None = None,
        max_output_bytes: int = 1024 * 1024,
    ) -> ExecResult:
        """Run `command` with /bin/sh -c and wait; on timeout the whole process tree is killed."""
        ...

    async def spawn(
        self,
        session_id: str,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        pty: tuple[int, int] | None = None,  # (cols, rows) to run on a terminal
    ) -> SandboxProcess: ...

    async def spawn_logged(
        self,
        session_id: str,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        log_fd: int,
        cap: int,
    ) -> LoggedProcess:
        """Start a background command whose output is appended to `log_fd` (at most `cap` bytes)."""
        ...

    async def attach(self, session_id: str, pid: int) -> LoggedProcess | None:
        """The logged command `pid` if it still runs (after a server restart), else None."""
        ...

    async def read_file(self, session_id: str, path: str, max_bytes: int) -> bytes:
        """Read a file as the sandbox sees it; paths escaping the sandbox's filesystem are refused."""
        ...

    async def write_file(self, session_id: str, path: str, data: bytes) -> int: ...

    async def open_port(self, session_id: str, port: int) -> tuple[Any, Any]:
        """An (asyncio StreamReader, StreamWriter) pair connected to `port` inside the sandbox."""
        ...

    async def recover(self, live: dict[str, SandboxInfo]) -> dict[str, str]:
        """At server start: re-attach to the sandboxes still alive among `live`, kill strays of dead
        sessions, and return {session_id: reason} for those that are gone."""
        ...

    async def reconcile(
        self, keep: set[str], *, attached_only: bool = False, min_age_s: float = 0.0
    ) -> list[str]:
        """Stop every sandbox of this install not in `keep` (attached or not, for instance one
        whose row was rolled back) and release what it left on the host (mounts, cgroups,
        runtime files). Returns the ids stopped. Run at start after `recover` and at stop; while
        serving (the reaper), `attached_only`: only sandboxes that finished starting, and no
        sweep of the mount table (a start in progress has mounts and no sandbox yet), and none
        attached less than `min_age_s` ago (a warm one being handed to a session)."""
        ...

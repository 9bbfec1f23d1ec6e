"""The bubblewrap driver's commands, files and ports: how a command enters a running sandbox
(through its agent, or nsenter after joining the cgroups when there is no agent), and the file
helpers and port connections built on that. Mixed into `BubblewrapDriver` (bubblewrap.py), which
owns the sandboxes' lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import subprocess
import sys
import time
from typing import Any

from chasm.config import Settings
from chasm.sandbox.drivers import agent, cmdlog, files, seccomp
from chasm.sandbox.drivers.base import (
    ExecResult,
    LoggedProcess,
    PortUnreachable,
    SandboxError,
    SandboxFileTimeout,
    SandboxFileTooLarge,
    SandboxGone,
)
from chasm.sandbox.drivers.netns import connect_in_netns
from chasm.sandbox.drivers.process import (
    BwrapProcess,
    Command,
    NsenterCommand,
    PumpedCommand,
    open_pty,
    sandbox_pid,
)
from chasm.sandbox.drivers.state import Sandbox

HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SandboxCommands:
    """Everything that runs inside a started sandbox."""

    settings: Settings
    uid: int
    tools: dict[str, str | None]
    _sandboxes: dict[str, Sandbox]

    def _seccomp(self) -> bytes | None:
        """The compiled filter (None when it is turned off)."""
        if not self.settings.sandbox_seccomp:
            return None
        try:
            return seccomp.bpf()
        except seccomp.SeccompUnavailable as exc:
            raise SandboxError(f"{exc} (or set CHASM_SANDBOX_SECCOMP=false)") from exc

    def _seccomp_fd(self) -> int | None:
        """A descriptor bwrap reads the compiled filter from (None when it is turned off)."""
        program = self._seccomp()
        if program is None:
            return None
        fd = os.memfd_create("chasm-seccomp", os.MFD_CLOEXEC)
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    # -- commands ------------------------------------------------------------------------

    def _get(self, session_id: str) -> Sandbox:
        sandbox = self._sandboxes.get(session_id)
        if sandbox is None or not sandbox.alive:
            raise SandboxGone(f"Session {session_id} is not running")
        return sandbox

    @staticmethod
    def _confine(sandbox: Sandbox, pids: tuple[int, ...]) -> None:
        """Move bwrap's processes into the sandbox's cgroups before its pid 1 forks anything.
        (They run no user code, so they need no rlimits: every command gets them in its prelude.)"""
        if sandbox.cgroups is not None:
            for pid in pids:
                sandbox.cgroups.add(pid)

    def _prelude(self, sandbox: Sandbox) -> str:
        """Host-side shell lines run as root before entering: join the cgroups, set rlimits."""
        lines = sandbox.cgroups.join_script() if sandbox.cgroups else ""
        lines += f"ulimit -n {int(sandbox.limits.nofile)} 2>/dev/null\n"
        if sandbox.limits.fsize_bytes:
            lines += f"ulimit -f {max(1, sandbox.limits.fsize_bytes // 512)} 2>/dev/null\n"
        if sandbox.limits.cpu_seconds:
            lines += f"ulimit -t {int(sandbox.limits.cpu_seconds)} 2>/dev/null\n"
        return lines

    def _launch(
        self, sandbox: Sandbox, command: str, cwd: str | None, merged: dict[str, str], pty_path: str = ""
    ) -> list[str]:
        """argv of the host-side launcher (no agent): cgroups and rlimits, then nsenter as the
        sandbox uid.

        Only our own fixed strings reach the host-side shell as code; the command, its
        environment and cwd are arguments, and the environment is set by the shell inside (a
        variable like LD_PRELOAD must never reach a host process running as root).
        """
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in merged.items())
        script = self._prelude(sandbox)
        script += 'if [ -n "$1" ]; then exec 0<>"$1" 1>&0 2>&0 || exit 125; fi\n'
        script += (
            f"exec {self.tools['setpriv']} --no-new-privs {self.tools['nsenter']} -t {sandbox.pid} "
            f'-U -m -n -p -i -u -r "--wdns=$2" -S {self.uid} -G {self.uid} -- /bin/sh -c "$3"\n'
        )
        argv = ["/bin/sh", "-c", script, "chasm-exec", pty_path, cwd or "/workspace", exports + command]
        # bwrap loads the filter only into its own child: this launcher loads it before it enters.
        program = self._seccomp()
        return argv if program is None else seccomp.loader_argv(sys.executable, program, argv)

    async def _process(
        self,
        sandbox: Sandbox,
        command: str,
        cwd: str | None,
        env: dict[str, str] | None,
        *,
        stdin: bool = False,
        stderr: bool = False,
        pty_slave: int | None = None,
    ) -> Command:
        """Start `command` in the sandbox: stdout a pipe; stderr its own pipe or (stderr=False)
        interleaved into stdout; stdin a pipe or /dev/null; or all three on a terminal."""
        merged = {**sandbox.env, **(env or {})}
        check_env(merged)
        if "\0" in command or (cwd and "\0" in cwd):
            raise SandboxError(
                "Commands and paths cannot contain NUL bytes", status_code=400, code="bad_request"
            )
        if sandbox.agent:
            return await agent.AgentCommand.start(
                sandbox.pid,
                command,
                cwd or "/workspace",
                merged,
                stdin=stdin,
                stderr=stderr,
                terminal_fd=pty_slave,
            )
        pty_path = os.ttyname(pty_slave) if pty_slave is not None else ""
        proc = await asyncio.create_subprocess_exec(
            *self._launch(sandbox, command, cwd, merged, pty_path),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if pty_path else subprocess.PIPE,
            stderr=subprocess.DEVNULL if pty_path else subprocess.PIPE if stderr else subprocess.STDOUT,
            env={"PATH": HOST_PATH},
            start_new_session=True,
        )
        return NsenterCommand(proc)

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
        sandbox = self._get(session_id)
        started = time.perf_counter()
        proc = await self._process(sandbox, command, cwd, env)
        assert proc.stdout is not None
        output = bytearray()
        truncated = False

        async def collect() -> None:
            nonlocal truncated
            assert proc.stdout is not None
            while data := await proc.stdout.read(65536):
                room = max_output_bytes - len(output)
                if len(data) > room:
                    truncated = True
                output.extend(data[: max(room, 0)])

        async def run() -> int:
            reader = asyncio.create_task(collect())
            code = await proc.wait()
            # A background child may keep the pipe open: take what is there, do not wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), 0.05)
            reader.cancel()
            return code

        timed_out = False
        code: int | None
        try:
            code = await asyncio.wait_for(run(), timeout_ms / 1000 if timeout_ms else None)
        except TimeoutError:
            timed_out, code = True, None
        finally:
            if proc.returncode is None or timed_out:
                await proc.kill()
                await proc.wait()
        return ExecResult(
            exit_code=code,
            output=output.decode("utf-8", errors="replace"),
            output_truncated=truncated,
            timed_out=timed_out,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def spawn(
        self,
        session_id: str,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        pty: tuple[int, int] | None = None,
    ) -> BwrapProcess:
        sandbox = self._get(session_id)
        if pty is None:
            proc = await self._process(sandbox, command, cwd, env, stdin=True, stderr=True)
            return BwrapProcess(await _with_pid(proc))
        master, slave = open_pty(*pty)
        try:
            term_env = {"TERM": "xterm-256color", **(env or {})}
            proc = await self._process(sandbox, command, cwd, term_env, pty_slave=slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        return BwrapProcess(await _with_pid(proc), master_fd=master)

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
        sandbox = self._get(session_id)
        merged = {**sandbox.env, **(env or {})}
        check_env(merged)
        if "\0" in command or (cwd and "\0" in cwd):
            raise SandboxError(
                "Commands and paths cannot contain NUL bytes", status_code=400, code="bad_request"
            )
        if sandbox.agent:
            return await agent.AgentCommand.start_logged(
                sandbox.pid, command, cwd or "/workspace", merged, log_fd=log_fd, cap=cap
            )
        proc = await self._process(sandbox, command, cwd, env, stdin=True, stderr=True)
        return PumpedCommand(await _with_pid(proc), cmdlog.Writer(os.dup(log_fd), cap))

    async def attach(self, session_id: str, pid: int) -> LoggedProcess | None:
        sandbox = self._sandboxes.get(session_id)
        if sandbox is None or not sandbox.alive or not sandbox.agent:
            return None
        return await agent.AgentCommand.attach(sandbox.pid, pid)

    # -- files and ports -----------------------------------------------------------------

    async def _file_helper(
        self, sandbox: Sandbox, script: str, path: str, data: bytes | None, extra: dict[str, str]
    ) -> bytes:
        proc = await self._process(
            sandbox,
            script,
            "/",
            {"CHASM_PATH": files.absolute(path), **extra},
            stdin=data is not None,
            stderr=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(data), files.HELPER_TIMEOUT_S)
        except TimeoutError:
            await proc.kill()
            await proc.wait()
            raise SandboxFileTimeout(
                f"{path}: no answer in {files.HELPER_TIMEOUT_S:g} s (is it a FIFO or a device?)"
            ) from None
        files.check(proc.returncode, err, path)
        return out

    async def read_file(self, session_id: str, path: str, max_bytes: int) -> bytes:
        sandbox = self._get(session_id)
        data = await self._file_helper(
            sandbox, files.READ_SCRIPT, path, None, {"CHASM_MAX": str(max_bytes + 1)}
        )
        if len(data) > max_bytes:
            raise SandboxFileTooLarge(f"{path} is larger than {max_bytes} bytes")
        return data

    async def write_file(self, session_id: str, path: str, data: bytes) -> int:
        sandbox = self._get(session_id)
        await self._file_helper(sandbox, files.WRITE_SCRIPT, path, data, {})
        return len(data)

    async def open_port(self, session_id: str, port: int) -> tuple[Any, Any]:
        sandbox = self._get(session_id)
        if not 0 < port < 65536:
            raise SandboxError(f"Invalid port {port}", status_code=400, code="bad_request")
        try:
            return await connect_in_netns(sandbox.pid, port)
        except OSError as exc:
            raise PortUnreachable(f"Nothing listens on port {port} in the session") from exc


def check_env(env: dict[str, str]) -> None:
    for name, value in env.items():
        if not ENV_NAME.fullmatch(name) or "\0" in value:
            raise SandboxError(f"Invalid environment variable {name!r}", status_code=400, code="bad_request")


async def _with_pid(proc: Command) -> Command:
    """nsenter forks the command into the sandbox: find its pid there (the agent reports it)."""
    if isinstance(proc, NsenterCommand):
        proc.pid = await sandbox_pid(proc.proc.pid)
    return proc

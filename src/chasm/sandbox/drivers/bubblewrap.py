"""The default sandbox driver: bubblewrap namespaces, cgroup limits, an agent as pid 1.

A sandbox is one long-lived bwrap whose pid 1 is a tiny static agent (agent.c): it reaps orphans
and forks every command on request, already inside the sandbox's namespaces and cgroups, as the
sandbox uid, with the pipes or terminal the server created and handed over. Without a C compiler to
build the agent, pid 1 is bwrap's own init idling in `sleep`, and the host enters the namespaces
with nsenter for every command after joining the cgroups (slower). Files are read and written by
commands run inside, so the sandbox's own permissions apply and a path resolves exactly as the
sandbox sees it. See docs/sandboxes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_cache_path

from chasm.config import Settings
from chasm.kit import hostfs
from chasm.sandbox.drivers import agent, layout, mounts
from chasm.sandbox.drivers.base import (
    SandboxError,
    SandboxInfo,
    SandboxSpec,
    SandboxStatus,
)
from chasm.sandbox.drivers.cgroups import CgroupManager
from chasm.sandbox.drivers.netns import ProxyRelay, block_host, start_slirp
from chasm.sandbox.drivers.process import (
    alive,
    kill_tree,
    read_line,
    starttime,
)
from chasm.sandbox.drivers.sandbox_commands import HOST_PATH, SandboxCommands, check_env
from chasm.sandbox.drivers.state import Sandbox
from chasm.sandbox.limits import tmpfs_caps

START_TIMEOUT_S = 10.0
T = TypeVar("T")
log = logging.getLogger("chasm.sessions")


class BubblewrapDriver(SandboxCommands):
    name = "bubblewrap"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.is_root = os.geteuid() == 0
        self.host_uid = settings.sandbox_host_uid if self.is_root else os.getuid()
        self.uid = settings.sandbox_uid
        data_dir = settings.data_dir.resolve()
        install = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
        if settings.sandbox_run_dir is not None:
            self.run_root = settings.sandbox_run_dir
        elif self.is_root:
            self.run_root = Path("/run") / f"chasm-{install}"
        else:
            self.run_root = data_dir / "run"
        self.cgroups = CgroupManager(install)
        self.tools = {name: shutil.which(name, path=HOST_PATH) for name in ("bwrap", "nsenter", "setpriv")}
        self.agent = agent.build(user_cache_path("chasm") / "agent") if settings.sandbox_agent else None
        self._sandboxes: dict[str, Sandbox] = {}
        self._attached_at: dict[str, float] = {}  # time.monotonic() when start or recover attached it

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, spec: SandboxSpec) -> SandboxInfo:
        missing = [name for name, path in self.tools.items() if path is None]
        if missing:
            raise SandboxError(f"Missing on this host: {', '.join(missing)}")
        if spec.session_id in self._sandboxes:
            raise SandboxError(f"Sandbox {spec.session_id} is already running")
        run_dir = self.run_root / spec.session_id
        sandbox = Sandbox(
            session_id=spec.session_id,
            pid=0,
            starttime=None,
            run_dir=run_dir,
            env={},
            limits=spec.limits,
            network=spec.network,
            agent=self.agent is not None,
        )
        try:
            await self._start(spec, sandbox)
        except BaseException as exc:
            await self._cleanup(spec.session_id, run_dir, sandbox)
            if isinstance(exc, (OSError, ValueError)):
                raise SandboxError(f"Could not start the sandbox: {exc}") from exc
            raise
        self._sandboxes[spec.session_id] = sandbox
        self._attached_at[spec.session_id] = time.monotonic()
        return SandboxInfo(session_id=spec.session_id, pid=sandbox.pid, state=sandbox.state())

    def _prepare(self, spec: SandboxSpec, sandbox: Sandbox) -> tuple[Path, Path, Path | None]:
        """Runtime directory, /etc tree, staged mounts, cgroups: blocking work, run in a thread."""
        run_dir = sandbox.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        # Only bwrap (the sandbox's host uid, through its group) may traverse the runtime
        # directories: they hold bind mounts of the workspace, which other host users must not see.
        for directory in (self.run_root, run_dir):
            if self.is_root:
                os.chown(directory, 0, self.host_uid)
            directory.chmod(0o710)
        etc = layout.etc_tree(self.run_root, self.uid, spec.network.mode)
        self._own_workspace(spec.workspace_dir)
        workspace, image = layout.stage(run_dir, spec, staged=self.is_root)
        sandbox.cgroups = self.cgroups.create(spec.session_id, spec.limits)
        return etc, workspace, image

    async def _start(self, spec: SandboxSpec, sandbox: Sandbox) -> None:
        run_dir = sandbox.run_dir
        sandbox.env = self._base_env(spec)
        # Off the event loop: cgroup writes on v1 can wait for an RCU grace period (ms).
        etc, workspace, image = await _in_thread(self._prepare, spec, sandbox)
        seccomp_fd = self._seccomp_fd()
        json_r, json_w = os.pipe()
        ready_r, ready_w = os.pipe()
        block_r, block_w = os.pipe()
        passed = [json_w, block_r]
        if seccomp_fd is not None:
            passed.append(seccomp_fd)
        _, tmp_bytes, shm_bytes = tmpfs_caps(self.settings, spec.limits.memory_bytes)
        if self.agent is not None:
            # pid 1 is the agent, executed from a descriptor: no host path needs to be visible
            # inside, and a read-only image root needs no mount point for it.
            agent_fd = os.open(self.agent, os.O_RDONLY)
            passed.append(agent_fd)
            limits = spec.limits
            command = [
                "--as-pid-1",
                "--",
                f"/proc/self/fd/{agent_fd}",
                str(int(limits.nofile)),
                str(limits.fsize_bytes or 0),
                str(limits.cpu_seconds or 0),
            ]
        else:
            command = ["--", "/bin/sh", "-c", "echo ready; exec sleep infinity </dev/null >/dev/null 2>&1"]
        bwrap = [
            self.tools["bwrap"] or "bwrap",
            *layout.bwrap_args(etc, workspace, image, self.uid, tmp_bytes, shm_bytes, json_w, seccomp_fd),
            "--block-fd",
            str(block_r),
            *command,
        ]
        # bwrap starts as the sandbox host uid (setpriv, so that Python can vfork instead of
        # copying the server's page tables); its pid 1 waits on --block-fd until it is in the
        # session's cgroups, so everything it forks is counted and limited there.
        if self.is_root:
            uid = str(self.host_uid)
            setpriv = self.tools["setpriv"] or "setpriv"
            bwrap = [setpriv, "--reuid", uid, "--regid", uid, "--clear-groups", *bwrap]
        with open(run_dir / "bwrap.log", "wb") as log:
            try:
                sandbox.popen = subprocess.Popen(
                    bwrap,
                    stdin=subprocess.DEVNULL,
                    stdout=ready_w,
                    stderr=log,
                    pass_fds=passed,
                    env={"PATH": HOST_PATH},
                    start_new_session=True,
                )
            finally:
                for fd in (*passed, ready_w):
                    os.close(fd)
        sandbox.monitor_pid = sandbox.popen.pid
        try:
            status = await asyncio.wait_for(read_line(json_r), START_TIMEOUT_S)
            if status:
                sandbox.pid = int(json.loads(status)["child-pid"])
                sandbox.starttime = starttime(sandbox.pid)
                await _in_thread(self._confine, sandbox, (sandbox.monitor_pid, sandbox.pid))
                os.write(block_w, b"1")
            ready = await asyncio.wait_for(read_line(ready_r), START_TIMEOUT_S)
        except TimeoutError:
            status, ready = b"", b""
        except BaseException:
            kill_tree(sandbox.monitor_pid)  # before closing block_w would let pid 1 run unconfined
            raise
        finally:
            for fd in (json_r, ready_r, block_w):
                os.close(fd)
        if not status or ready.strip() != b"ready":
            log_text = (run_dir / "bwrap.log").read_text(errors="replace").strip()
            raise OSError(f"bwrap did not start: {log_text or 'no output'}")
        await self._start_network(sandbox)
        # What stop() needs to clean up after a restart; never the environment (it holds secrets).
        kept = {k: v for k, v in sandbox.state().items() if k != "env"}
        (run_dir / "state.json").write_text(json.dumps({"session_id": spec.session_id, **kept}))

    def _own_workspace(self, path: Path) -> None:
        """The sandbox user must own /workspace (a fresh directory or a clone made by root)."""
        path.mkdir(parents=True, exist_ok=True)
        if not self.is_root or path.stat().st_uid == self.host_uid:
            return
        hostfs.chown_tree(path, self.host_uid)

    def _base_env(self, spec: SandboxSpec) -> dict[str, str]:
        env = {
            "PATH": layout.DEFAULT_PATH,
            "HOME": "/workspace",
            "USER": "user",
            "LOGNAME": "user",
            "LANG": "C.UTF-8",
            "SHELL": "/bin/bash",
        }
        if spec.network.mode == "proxy" and spec.network.proxy_url:
            auth = ""
            if spec.network.proxy_username:
                auth = spec.network.proxy_username + ":" + (spec.network.proxy_password or "") + "@"
            url = f"http://{auth}127.0.0.1:{self.settings.sandbox_proxy_port}"
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
                env[name] = url
            env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1"
        env.update(spec.env)
        check_env(env)
        return env

    async def _start_network(self, sandbox: Sandbox) -> None:
        mode = sandbox.network.mode
        if mode == "direct":
            prelude = self._prelude(sandbox)
            log = sandbox.run_dir / "slirp.log"
            sandbox.slirp, sandbox.slirp_starttime = await start_slirp(
                sandbox.pid, prelude, log, self.is_root
            )
            sandbox.slirp_pid = sandbox.slirp.pid
            # After slirp4netns's --configure (its default route needs 10.0.2.2 routable when it
            # is added) and before start returns: no user command has run yet.
            await block_host(sandbox.pid, self.is_root)
        elif mode == "proxy":
            if not sandbox.network.proxy_url:
                raise SandboxError(
                    "network.mode=proxy needs a proxy URL", status_code=400, code="bad_request"
                )
            await self._start_relay(sandbox)
        elif mode != "none":
            raise SandboxError(f"Unknown network mode {mode!r}", status_code=400, code="bad_request")

    async def _start_relay(self, sandbox: Sandbox) -> None:
        assert sandbox.network.proxy_url
        sandbox.relay = ProxyRelay(sandbox.pid, self.settings.sandbox_proxy_port, sandbox.network.proxy_url)
        await sandbox.relay.start()

    async def status(self, session_id: str) -> SandboxStatus:
        sandbox = self._sandboxes.get(session_id)
        if sandbox is None:
            return SandboxStatus(running=False)
        group = sandbox.cgroups
        return SandboxStatus(
            running=sandbox.alive,
            oom_killed=group.oom_killed() if group else False,
            memory_bytes=group.memory_bytes() if group else None,
        )

    async def stop(self, session_id: str) -> None:
        sandbox = self._sandboxes.pop(session_id, None)
        self._attached_at.pop(session_id, None)
        run_dir = self.run_root / session_id
        if sandbox is None and (run_dir / "state.json").exists():
            with contextlib.suppress(OSError, ValueError, KeyError):
                sandbox = Sandbox.from_state(session_id, json.loads((run_dir / "state.json").read_text()))
        await self._cleanup(session_id, run_dir, sandbox)

    async def _cleanup(self, session_id: str, run_dir: Path, sandbox: Sandbox | None) -> None:
        if sandbox is not None:
            if sandbox.relay is not None:
                await sandbox.relay.close()
            if sandbox.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(sandbox.pid, signal.SIGKILL)  # pid 1 of the namespace: everything inside dies
            if sandbox.slirp is not None:  # our child: kill and reap it (its pid stays ours till then)
                sandbox.slirp.kill()
                await asyncio.to_thread(sandbox.slirp.wait)
            elif alive(sandbox.slirp_pid, sandbox.slirp_starttime):  # a previous server's
                with contextlib.suppress(ProcessLookupError):
                    os.kill(sandbox.slirp_pid, signal.SIGKILL)
            if sandbox.popen is not None:
                # Also bwrap's child when the start stopped before it reported it (a cancelled
                # start): it would wait forever for its dead parent, outside every cgroup.
                kill_tree(sandbox.popen.pid)
                await asyncio.to_thread(sandbox.popen.wait)
        group = sandbox.cgroups if sandbox and sandbox.cgroups else self.cgroups.existing().get(session_id)
        if group is not None:
            await asyncio.to_thread(group.remove)
        if layout.unstage(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log.error(
                "sandbox %s: a mount under %s would not detach; the directory is kept", session_id, run_dir
            )
        self.cgroups.prune()
        # The runtime root and its cached /etc trees stay while the server runs: rebuilding them
        # after the last sandbox ended cost every cold start a copy of /etc (0.1-0.7 s here).
        # The full `reconcile` (start, shutdown) removes them.

    async def recover(self, live: dict[str, SandboxInfo]) -> dict[str, str]:
        gone: dict[str, str] = {}
        for session_id, info in live.items():
            if session_id in self._sandboxes:
                continue
            try:
                sandbox = Sandbox.from_state(session_id, {"pid": info.pid, **info.state})
            except (KeyError, TypeError, ValueError):
                gone[session_id] = "error"
                await self.stop(session_id)
                continue
            if not sandbox.alive:
                oom = sandbox.cgroups.oom_killed() if sandbox.cgroups else False
                gone[session_id] = "out_of_memory" if oom else "server_restart"
                await self._cleanup(session_id, sandbox.run_dir, sandbox)
                continue
            if sandbox.network.mode == "proxy" and sandbox.network.proxy_url:
                await self._start_relay(sandbox)
            self._sandboxes[session_id] = sandbox
            self._attached_at[session_id] = time.monotonic()
        await self._kill_strays()
        return gone

    async def _kill_strays(self) -> None:
        """Every sandbox of this install not attached now is a stray of a dead session."""
        await self.reconcile(set(self._sandboxes))

    async def reconcile(
        self, keep: set[str], *, attached_only: bool = False, min_age_s: float = 0.0
    ) -> list[str]:
        now = time.monotonic()
        found = {sid for sid in self._sandboxes if now - self._attached_at.get(sid, 0.0) >= min_age_s}
        if not attached_only:
            found.update(self.cgroups.existing())
            with contextlib.suppress(OSError):
                found.update(e.name for e in self.run_root.iterdir() if e.is_dir() and e.name[0] != ".")
        strays = sorted(found - keep)
        for session_id in strays:
            log.warning("stopping stray sandbox %s (no live session owns it)", session_id)
            await self.stop(session_id)
        if attached_only:
            return strays
        for target in mounts.mounts_under(self.run_root):
            relative = target.relative_to(self.run_root).parts
            if relative[0] not in keep:
                log.warning("unmounting stray sandbox mount %s", target)
                layout.unmount(target)
        with contextlib.suppress(OSError):
            if not self._sandboxes and not any(not e.name.startswith(".") for e in self.run_root.iterdir()):
                shutil.rmtree(self.run_root)  # no sandbox of this install is left
        return strays


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """`function` in a worker thread; a cancelled caller still waits for it to finish, so that
    cleanup never races with a half-done step (a cgroup created after it was removed)."""
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise

"""What the bubblewrap driver knows about one sandbox, and the small /proc and pipe helpers."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chasm.sandbox.drivers.base import Limits, NetworkSpec
from chasm.sandbox.drivers.cgroups import CgroupSet
from chasm.sandbox.drivers.netns import ProxyRelay
from chasm.sandbox.drivers.process import alive as process_alive


@dataclass
class Sandbox:
    """What the driver knows about one running sandbox; `state()` is what survives a restart."""

    session_id: str
    pid: int  # host pid of the sandbox's pid 1 (inner bwrap)
    starttime: str | None
    run_dir: Path
    env: dict[str, str]
    cgroups: CgroupSet | None = None
    limits: Limits = field(default_factory=Limits)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    monitor_pid: int = 0  # the outer bwrap process
    slirp_pid: int = 0
    slirp_starttime: str | None = None
    agent: bool = False  # pid 1 is the agent (agent.c); otherwise commands enter with nsenter
    popen: subprocess.Popen[bytes] | None = None  # the outer bwrap, when this server started it
    slirp: subprocess.Popen[bytes] | None = None  # slirp4netns, when this server started it
    relay: ProxyRelay | None = None

    def state(self) -> dict[str, Any]:
        return {
            "child_pid": self.pid,
            "starttime": self.starttime,
            "run_dir": str(self.run_dir),
            "env": self.env,
            "monitor_pid": self.monitor_pid,
            "slirp_pid": self.slirp_pid,
            "slirp_starttime": self.slirp_starttime,
            "nofile": self.limits.nofile,
            "fsize_bytes": self.limits.fsize_bytes,
            "cpu_seconds": self.limits.cpu_seconds,
            "network": {"mode": self.network.mode, "proxy_url": self.network.proxy_url},
            "agent": self.agent,
            **(self.cgroups.state() if self.cgroups else {}),
        }

    @classmethod
    def from_state(cls, session_id: str, state: dict[str, Any]) -> Sandbox:
        net = state.get("network") or {}
        return cls(
            session_id=session_id,
            pid=int(state.get("child_pid") or state.get("pid") or 0),
            starttime=state.get("starttime"),
            run_dir=Path(state["run_dir"]),
            env=dict(state.get("env") or {}),
            cgroups=CgroupSet.from_state(state),
            limits=Limits(
                nofile=int(state.get("nofile") or 4096),
                fsize_bytes=state.get("fsize_bytes"),
                cpu_seconds=state.get("cpu_seconds"),
            ),
            network=NetworkSpec(mode=net.get("mode", "none"), proxy_url=net.get("proxy_url")),
            monitor_pid=int(state.get("monitor_pid") or 0),
            slirp_pid=int(state.get("slirp_pid") or 0),
            slirp_starttime=state.get("slirp_starttime"),
            agent=bool(state.get("agent")),
        )

    @property
    def alive(self) -> bool:
        return process_alive(self.pid, self.starttime)

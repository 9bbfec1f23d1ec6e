"""Per-sandbox control groups: memory, process count and CPU limits, OOM reports, kill-all.

Works on cgroup v1 (one hierarchy per controller, as on this host) and v2 (the unified tree),
detected at runtime. Session groups live under `<own cgroup>/chasm-<install>/s-<session_id>`, so
that one install never touches another's sandboxes and strays are found by listing one directory.
Processes join a group by writing their own pid to `cgroup.procs` before they exec the sandbox
(see `join_script`), so nothing of a sandbox ever runs outside its group.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from chasm.sandbox.drivers.base import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" for the v2 unified entry)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_keyed(path: Path, key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return None


@dataclass
class CgroupSet:
    """The directories of one sandbox's group, one per hierarchy (one on v2)."""

    version: int
    dirs: list[Path]

    def state(self) -> dict[str, object]:
        return {"cgroup_version": self.version, "cgroup_dirs": [str(d) for d in self.dirs]}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> CgroupSet | None:
        dirs = state.get("cgroup_dirs")
        if not isinstance(dirs, list) or not dirs:
            return None
        version = state.get("cgroup_version")
        return cls(version=version if isinstance(version, int) else 1, dirs=[Path(str(d)) for d in dirs])

    def _dir(self, controller: str) -> Path | None:
        if self.version == 2:
            return self.dirs[0]
        for d in self.dirs:
            if controller in d.parts:
                return d
        return None

    def join_script(self) -> str:
        """Shell lines that move the running shell (`$$`) into every directory of the group."""
        return "".join(f"echo $$ > '{d}/cgroup.procs' || exit 125\n" for d in self.dirs)

    def add(self, pid: int) -> None:
        for d in self.dirs:
            _write(d / "cgroup.procs", str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return found

    def oom_killed(self) -> bool:
        mem = self._dir("memory")
        if mem is None:
            return False
        if self.version == 2:
            return (_read_keyed(mem / "memory.events", "oom_kill") or 0) > 0
        kills = _read_keyed(mem / "memory.oom_control", "oom_kill")
        if kills is not None:
            return kills > 0
        return (_read_int(mem / "memory.failcnt") or 0) > 0

    def memory_bytes(self) -> int | None:
        mem = self._dir("memory")
        if mem is None:
            return None
        return _read_int(mem / ("memory.current" if self.version == 2 else "memory.usage_in_bytes"))

    def kill(self) -> None:
        """SIGKILL every process of the group (v2: cgroup.kill; v1: until the group is empty)."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.dirs[0] / "cgroup.kill", "1")
            return
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        """Kill what is left and remove the directories (retrying while the kernel reaps)."""
        self.kill()
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        break
                    self.kill()
                    time.sleep(0.01)


class CgroupManager:
    """Creates and finds the groups of one install. `available` is False where we cannot write."""

    def __init__(self, install: str) -> None:
        self.install = f"chasm-{install}"
        self.version = 0
        self.bases: list[Path] = []
        self._detect()

    def _detect(self) -> None:
        own = _own_paths()
        if all(c in own for c in V1_CONTROLLERS) and (CGROUP_ROOT / "memory").is_dir():
            bases = [CGROUP_ROOT / c / own[c].lstrip("/") / self.install for c in V1_CONTROLLERS]
            if all(os.access(b.parent / "cgroup.procs", os.W_OK) for b in bases):
                self.version, self.bases = 1, bases
            return
        if "" in own and (CGROUP_ROOT / "cgroup.controllers").exists():
            base = CGROUP_ROOT / own[""].lstrip("/") / self.install
            if os.access(base.parent / "cgroup.procs", os.W_OK):
                self.version, self.bases = 2, [base]

    def _prepare(self) -> None:
        """Create this install's parent groups on first use (v2: and delegate the controllers)."""
        for base in self.bases:
            if not base.is_dir():
                base.mkdir(exist_ok=True)
                if self.version == 2 and not self._enable_v2(base.parent, base):
                    raise OSError(f"cannot enable cgroup controllers under {base.parent}")

    @staticmethod
    def _enable_v2(parent: Path, base: Path) -> bool:
        """Delegate memory, pids and cpu down to the session groups (the no-internal-process rule
        means `base` itself holds no process; its parent may need its processes moved to a leaf)."""
        wanted = [c for c in ("memory", "pids", "cpu") if c in (parent / "cgroup.controllers").read_text()]
        line = " ".join(f"+{c}" for c in wanted)
        for target in (parent, base):
            try:
                _write(target / "cgroup.subtree_control", line)
            except OSError as exc:
                if exc.errno != errno.EBUSY or target is not parent:
                    return False
                leaf = parent / "chasm-server"
                leaf.mkdir(exist_ok=True)
                for pid in (parent / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        _write(leaf / "cgroup.procs", pid)
                try:
                    _write(target / "cgroup.subtree_control", line)
                except OSError:
                    return False
        return True

    @property
    def available(self) -> bool:
        return self.version != 0

    def create(self, session_id: str, limits: Limits) -> CgroupSet | None:
        if not self.available:
            return None
        self._prepare()
        group = CgroupSet(self.version, [b / f"s-{session_id}" for b in self.bases])
        try:
            for d in group.dirs:
                d.mkdir(exist_ok=True)
            self._apply(group, limits)
        except OSError:
            group.remove()
            raise
        return group

    def _apply(self, group: CgroupSet, limits: Limits) -> None:
        mem, pids, cpu = group._dir("memory"), group._dir("pids"), group._dir("cpu")
        if self.version == 2:
            if mem and limits.memory_bytes:
                _write(mem / "memory.max", str(limits.memory_bytes))
                with contextlib.suppress(OSError):
                    _write(mem / "memory.swap.max", "0")
            if pids and limits.pids:
                _write(pids / "pids.max", str(limits.pids))
            if cpu and limits.cpu_quota:
                _write(cpu / "cpu.max", f"{int(limits.cpu_quota * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            return
        if mem and limits.memory_bytes:
            _write(mem / "memory.limit_in_bytes", str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        if pids and limits.pids:
            _write(pids / "pids.max", str(limits.pids))
        if cpu and limits.cpu_quota:
            _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(int(limits.cpu_quota * CPU_PERIOD_US)))

    def prune(self) -> None:
        """v1: remove this install's empty parent groups (recreated on the next start)."""
        if self.version == 1:
            for base in self.bases:
                with contextlib.suppress(OSError):
                    base.rmdir()

    def existing(self) -> dict[str, CgroupSet]:
        """session_id -> group, for every session group of this install (to find strays)."""
        found: dict[str, CgroupSet] = {}
        if not self.available:
            return found
        with contextlib.suppress(OSError):
            for entry in self.bases[0].iterdir():
                if entry.is_dir() and entry.name.startswith("s-"):
                    sid = entry.name[2:]
                    found[sid] = CgroupSet(self.version, [b / entry.name for b in self.bases])
        return found

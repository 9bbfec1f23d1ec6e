"""Sandbox limits per account plan, and the caps of a sandbox's memory-backed filesystems."""

from __future__ import annotations

from typing import Any

from chasm.config import Settings
from chasm.sandbox.drivers.base import Limits

PLAN_LIMIT_FIELDS = {"memory_bytes": int, "pids": int, "cpu_quota": float, "nofile": int}


def limits_for(settings: Settings, plan: str | None) -> Limits:
    """The sandbox limits of an account's plan: the `sandbox_*` settings, overridden field by field
    by `sandbox_plan_limits[plan]`."""
    values: dict[str, Any] = {
        "memory_bytes": settings.sandbox_memory_bytes,
        "pids": settings.sandbox_pids,
        "cpu_quota": settings.sandbox_cpu_quota,
        "nofile": settings.sandbox_nofile,
    }
    for name, value in (settings.sandbox_plan_limits.get(plan or "") or {}).items():
        if name in PLAN_LIMIT_FIELDS:
            values[name] = PLAN_LIMIT_FIELDS[name](value)
    return Limits(**values)


# Share of a sandbox's memory limit that its writable tmpfs caps may take together: the pages of
# a tmpfs are charged to the sandbox's memory cgroup, so filling every one of them must end in
# ENOSPC with room left for the processes, never in an out-of-memory kill.
TMPFS_SHARE = 0.75


def tmpfs_caps(settings: Settings, memory_bytes: int | None) -> tuple[int, int, int]:
    """(ephemeral /workspace, /tmp, /dev/shm) caps of a sandbox with this memory limit: the
    `sandbox_*_bytes` settings, scaled down together when they add up to more than
    `TMPFS_SHARE` of the limit."""
    caps = (
        settings.sandbox_ephemeral_workspace_bytes,
        settings.sandbox_tmp_bytes,
        settings.sandbox_shm_bytes,
    )
    total = sum(caps)
    budget = int(memory_bytes * TMPFS_SHARE) if memory_bytes else total
    if total <= budget:
        return caps
    workspace, tmp, shm = (max(1, cap * budget // total) for cap in caps)
    return workspace, tmp, shm

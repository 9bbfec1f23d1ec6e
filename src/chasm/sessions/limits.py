"""Sandbox limits per account plan."""

from __future__ import annotations

from typing import Any

from chasm.config import Settings
from chasm.sessions.drivers.base import Limits

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

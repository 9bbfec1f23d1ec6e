"""Quotas of an account's plan, and who is exempt from them (the instance administrator).

The numbers live in the settings (`quota_*` defaults, `quota_plans[plan]` overrides); the
sessions and workspaces services enforce them, each with its own counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.config import Settings
from chasm.kit.errors import ChasmError

# The plan of an account created by registration, OAuth sign-up or as an organization: the
# lowest one (spec: free, ephemeral sessions only, one at a time). The bootstrap owner's is PAID.
DEFAULT_PLAN = "free"
PAID_PLAN = "paid"
INSTANCE_OWNER_EMAIL = "owner@localhost"  # the bootstrap owner (system/bootstrap.py)


@dataclass(frozen=True)
class PlanQuota:
    plan: str
    live_sessions: int | None
    sessions_per_minute: int | None
    memory_bytes: int | None
    disk_bytes: int | None
    ephemeral_only: bool
    session_time_cap_s: int | None = None  # billing: a session is ended after this long
    wallet: bool = False  # billing: session time is debited from the prepaid wallet
    unlimited: bool = False  # the local plan: nothing limited, nothing billed
    organizations: int | None = None  # organizations a user may own (the plan of their personal account)
    background_commands: int | None = None  # running at once per session (under the server's cap)


# The plan billing applies to the account of the instance administrator (the local owner of a
# fresh install): nothing is limited or charged, so self-hosting is never blocked by billing.
LOCAL_PLAN = "local"


def local_quota() -> PlanQuota:
    return PlanQuota(LOCAL_PLAN, None, None, None, None, False, None, False, True)


def quota_for(settings: Settings, plan: str | None) -> PlanQuota:
    """The `quota_*` settings, overridden field by field by `quota_plans[plan]` (null: unlimited)."""
    values: dict[str, Any] = {
        "live_sessions": settings.quota_live_sessions,
        "sessions_per_minute": settings.quota_sessions_per_minute,
        "memory_bytes": settings.quota_memory_bytes,
        "disk_bytes": settings.quota_disk_bytes,
        "ephemeral_only": settings.quota_ephemeral_only,
        "session_time_cap_s": settings.quota_session_time_cap_s,
        "wallet": settings.quota_wallet,
        "organizations": settings.quota_organizations,
        "background_commands": settings.quota_background_commands,
    }
    for name, value in (settings.quota_plans.get(plan or "") or {}).items():
        if name in ("ephemeral_only", "wallet"):
            values[name] = bool(value)
        elif name in values:
            values[name] = None if value is None else int(value)
    return PlanQuota(plan=plan or "", **values)


async def is_instance_admin(db: AsyncSession, actor: Actor) -> bool:
    """Whether the caller administers this instance, and so has no quota: the single hook every
    quota check goes through (`users.is_instance_admin`, carried on the actor; a service account
    never is)."""
    return actor.instance_admin


class QuotaExceeded(ChasmError):
    """403 for a total (live sessions, memory, disk, plan feature); 429 with Retry-After for a rate."""

    status_code = 403
    code = "quota_exceeded"

    def __init__(
        self,
        quota: PlanQuota,
        limit: str,
        value: int | bool | None,
        message: str,
        retry_after: int | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(
            f"{message} (quota '{limit}' of plan '{quota.plan}' is {value})",
            status_code=429 if retry_after is not None else 403,
            headers=headers,
            details={"limit": limit, "value": value, "plan": quota.plan},
        )

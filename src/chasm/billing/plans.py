"""The plan billing applies to an account: the quota plans of accounts/quotas.py (one source of
truth for names and limits), except that the instance administrator's own account is on the
unlimited `local` plan."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts.quotas import LOCAL_PLAN, PlanQuota, local_quota, quota_for
from chasm.config import Settings
from chasm.models import Account, User

MICRO = 1_000_000


async def plan_of(db: AsyncSession, settings: Settings, account: Account) -> PlanQuota:
    if account.personal_user_id is not None:
        user = await db.get(User, account.personal_user_id)
        if user is not None and user.is_instance_admin:
            return local_quota()
    return quota_for(settings, account.plan)


def selectable_plans(settings: Settings) -> list[str]:
    """Plans an account may be put on through the API (never the local plan)."""
    return sorted(p for p in {"free", "paid", *settings.quota_plans} if p != LOCAL_PLAN)


def price_microusd_per_hour(settings: Settings) -> int:
    return round(settings.billing_price_per_session_hour_usd * MICRO)


def charge_for(settings: Settings, seconds: float) -> int:
    """What `seconds` of session time cost in total, in micro-dollars (rounded once, so the sum of
    a session's debits is exactly the price of its metered seconds)."""
    return round(seconds * price_microusd_per_hour(settings) / 3600)

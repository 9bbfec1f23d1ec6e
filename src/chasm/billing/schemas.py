from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from chasm.kit.pagination import Page


class PlanOut(BaseModel):
    code: str
    unlimited: bool
    ephemeral_only: bool
    live_sessions: int | None
    session_time_cap_s: int | None
    wallet: bool
    price_per_session_hour_usd: float | None


class WalletOut(BaseModel):
    balance_usd: float
    balance_microusd: int


class StorageOut(BaseModel):
    workspaces: int
    bytes: int


class UsageWindow(BaseModel):
    session_seconds: float
    exec_count: int
    tokens: float
    spent_usd: float


class SubscriptionOut(BaseModel):
    """The Stripe subscription paying the plan: each paid invoice carries it to `paid_until`."""

    plan_code: str | None
    stripe_subscription_id: str
    paid_until: datetime | None


class BillingSummary(BaseModel):
    account_id: str
    billing_email: str | None
    plan: PlanOut
    wallet: WalletOut
    storage: StorageOut
    usage_24h: UsageWindow
    usage_30d: UsageWindow
    stripe_configured: bool
    subscription: SubscriptionOut | None = None


class BillingAccountUpdate(BaseModel):
    email: str | None = Field(default=None, max_length=320)
    plan: str | None = Field(default=None, max_length=40)


class CheckoutCreate(BaseModel):
    mode: Literal["topup", "subscription"]
    amount_usd: float | None = Field(default=None, gt=0, le=100_000)
    plan_code: str | None = Field(default=None, max_length=40)


class CheckoutOut(BaseModel):
    id: str
    url: str | None
    mode: str


class UsageRecordOut(BaseModel):
    id: str
    kind: str
    quantity: float
    unit: str
    session_type: str | None
    session_id: str | None
    workspace_id: str | None
    metadata: dict[str, Any] | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime


class UsageTotal(BaseModel):
    kind: str
    unit: str
    quantity: float
    records: int


class UsageList(Page[UsageRecordOut]):
    """A page of usage records (the one list shape) plus `totals` over every matching record."""

    totals: list[UsageTotal]


class StripeWebhookOut(BaseModel):
    received: bool
    duplicate: bool

"""Billing: the billing profile of an account, metered usage, the wallet ledger, Stripe events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow


class BillingProfile(TimestampMixin, Base):
    __tablename__ = "billing_profiles"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(200))
    # The Stripe subscription paying the plan, its plan, and the end of its last paid period.
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(200), index=True)
    subscription_plan: Mapped[str | None] = mapped_column(String(40))
    paid_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageRecord(IdMixin, TimestampMixin, Base):
    """A metered quantity: `session_seconds` (by session type), `storage_bytes` (a sample, per
    workspace), `exec` (count), `tokens` (by model), each with the time span it covers."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_account_kind_created", "account_id", "kind", "created_at"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))  # seconds | bytes | count | tokens
    session_type: Mapped[str | None] = mapped_column(String(20))
    session_id: Mapped[uuid.UUID | None]
    workspace_id: Mapped[uuid.UUID | None]
    meta: Mapped[dict[str, Any] | None]
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]


class SessionMeter(Base):
    """How far a session has been metered and charged: each tick adds what came since."""

    __tablename__ = "session_meters"

    session_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    metered_until: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    charged_microusd: Mapped[int] = mapped_column(BigInteger, default=0)
    closed: Mapped[bool] = mapped_column(default=False)  # the session ended and is fully metered


class WalletEntry(IdMixin, TimestampMixin, Base):
    """One change of an account's wallet; the balance is the sum, never a stored number. A
    `reference` is unique: the same Stripe checkout credits once."""

    __tablename__ = "wallet_entries"
    __table_args__ = (Index("ix_wallet_entries_account_created", "account_id", "created_at"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    amount_microusd: Mapped[int] = mapped_column(BigInteger)  # credit > 0, debit < 0
    kind: Mapped[str] = mapped_column(String(20))  # topup | session_time | adjustment
    reference: Mapped[str | None] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))


class StripeEvent(TimestampMixin, Base):
    """A Stripe event already handled: a replay of it does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))

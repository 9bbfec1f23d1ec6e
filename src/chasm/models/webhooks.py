"""Webhook endpoints and their durable outbox: events, one delivery per endpoint, every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chasm.kit.db import Base, IdMixin, TimestampMixin

# An integer key that grows with every insert: the order deliveries of one endpoint keep.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "discarded")


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(1000))
    event_types: Mapped[list[Any]]  # exact types or "prefix.*" patterns
    enabled: Mapped[bool] = mapped_column(default=True)
    secret_sealed: Mapped[str] = mapped_column(Text)  # "whsec_..." encrypted with the server key
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]
    # The dispatcher draining this endpoint's queue, until when (one at a time: the order holds
    # and no delivery goes out twice when several servers share the database).
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]


class WebhookEvent(TimestampMixin, Base):
    """One event of the catalogue, written in the transaction of the change it reports."""

    __tablename__ = "webhook_events"

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # msg_...: the webhook-id header
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]  # the body sent: {"type", "timestamp", "data"}


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """An event on its way to one endpoint; an endpoint's pending deliveries go out in `event_seq`
    order, the head first."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_status_seq", "endpoint_id", "status", "event_seq"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_account_created", "account_id", "created_at"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_seq: Mapped[int] = mapped_column(SEQ, ForeignKey("webhook_events.seq", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # one of DELIVERY_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # Set by emit, so the event and its deliveries are inserted in one flush (no round trip for
    # the event's key); never loaded.
    event: Mapped[WebhookEvent] = relationship(lazy="raise")


class WebhookAttempt(IdMixin, Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    request_headers: Mapped[dict[str, Any]]
    status_code: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(1000))
    latency_ms: Mapped[float | None]

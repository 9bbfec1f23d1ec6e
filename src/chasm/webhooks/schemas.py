from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

DeliveryStatus = Literal["pending", "succeeded", "failed", "discarded"]


class WebhookCreate(BaseModel):
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)


class WebhookUpdate(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime | None


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...): shown only on create and rotate.")


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    request_headers: dict[str, Any]
    status_code: int | None
    response_excerpt: str | None
    error: str | None
    latency_ms: float | None


class DeliveryDetail(DeliveryOut):
    request_body: dict[str, Any]
    request_headers: dict[str, Any] | None
    response_status: int | None
    response_excerpt: str | None
    latency_ms: float | None
    attempt_log: list[AttemptOut]


class EventTypeOut(BaseModel):
    type: str
    description: str

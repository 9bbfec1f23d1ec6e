"""Requests and responses of /v1/jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.kit.types import IsoDatetime

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=100)
    input: dict[str, Any] = Field(default_factory=dict)
    run_at: IsoDatetime | None = Field(default=None, description="Run no earlier than this time")
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="The same key returns the same job"
    )


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: JobStatus
    input: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    timeout_s: int
    run_at: datetime
    idempotency_key: str | None
    cancel_requested: bool
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobKindOut(BaseModel):
    kind: str
    description: str
    input_schema: dict[str, Any]
    timeout_s: int
    max_attempts: int
    scope: str
    instance_admin: bool = Field(description="Only instance administrators may enqueue it")
    account_admin: bool = Field(False, description="Only an owner or admin of the account may enqueue it")

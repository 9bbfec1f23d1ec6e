"""Bodies and responses of /v1/keys (and service-account keys)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chasm.kit.types import IsoDatetime


class KeyOut(BaseModel):
    """An API key as listed: never its secret or hash. `scopes: null` means full access."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str] | None
    service_account_id: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret, shown only in this response")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] | None = Field(default=None, max_length=64)
    expires_at: IsoDatetime | None = None

"""Responses of /v1/audit/events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    id: uuid.UUID
    actor_type: str
    actor_id: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    status: str
    summary: str | None
    metadata: dict[str, Any] | None
    created_at: datetime

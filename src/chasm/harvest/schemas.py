from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class HarvestRequest(BaseModel):
    all: bool = Field(default=False, description="Include providers disabled in the settings")
    providers: list[str] | None = Field(default=None, max_length=100)
    workspace_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)

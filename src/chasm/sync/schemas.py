"""001's SyncResponse."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SyncResponse(BaseModel):
    model_config = ConfigDict(title="SyncResponse")

    uploaded: int = Field(description="Chat versions and tombstones sent")
    downloaded: int = Field(description="Chat versions and tombstones applied here")
    conflicts: int = Field(description="Chats changed on both sides: both versions kept, the other as a fork")
    last_sync: datetime

"""Request bodies of the chat library API (responses are the dicts built in service.py)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant", "system"]
MergeStrategy = Literal["interleave", "concatenate", "smart"]


class CreateWorkspace(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    path: str = Field(min_length=1, max_length=2000)
    provider: str | None = Field(default=None, max_length=60)


class UpdateWorkspace(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    path: str | None = Field(default=None, min_length=1, max_length=2000)


class CreateMessage(BaseModel):
    role: Role
    content: str = Field(max_length=1_000_000)


class CreateSession(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    workspace_id: uuid.UUID | None = None
    provider: str | None = Field(default=None, min_length=1, max_length=60)
    tags: list[str] = Field(default_factory=list, max_length=100)
    messages: list[CreateMessage] = Field(default_factory=list, max_length=10_000)


class UpdateSession(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=100)
    archived: bool | None = None


class ForkSession(BaseModel):
    message_id: uuid.UUID | None = None
    title: str | None = Field(default=None, max_length=1000)


class MergeSessions(BaseModel):
    session_ids: list[uuid.UUID] = Field(min_length=2, max_length=100)
    title: str | None = Field(default=None, max_length=1000)
    strategy: MergeStrategy = "interleave"

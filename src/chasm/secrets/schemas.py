"""Read and write schemas of the secrets scan. A finding never carries the secret: only a masked
excerpt (the format's prefix and the length)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field


class SecretFinding(BaseModel):
    rule: str = Field(description="The rule that matched, e.g. openai_api_key, private_key, url_password")
    description: str
    chat_id: uuid.UUID
    chat_title: str
    provider: str
    message_id: uuid.UUID | None = Field(description="None for a secret in the chat's title")
    seq: int | None = Field(description="The message's position in its chat")
    role: str | None
    field: Literal["content", "thinking", "tool_calls", "title"]
    excerpt: str = Field(description="The text around the secret, every secret in it masked")


class SecretScan(BaseModel):
    findings: list[SecretFinding]
    total: int = Field(description="Findings in all (the list is one page of them)")
    chats: int = Field(description="Chats with at least one finding")
    messages_scanned: int
    limit: int
    offset: int


class RedactRequest(BaseModel):
    chat_id: uuid.UUID | None = Field(default=None, description="Only this chat (default: every chat)")
    rules: list[str] | None = Field(default=None, description="Only these rules (default: every rule)")


class RedactResult(BaseModel):
    secrets_redacted: int
    messages_rewritten: int
    titles_rewritten: int
    chats: int

"""Typed results of the chat library (/api/v1, spec 001's schemas)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chasm.client.models import Model


@dataclasses.dataclass
class Usage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclasses.dataclass
class Message(Model):
    """A chat message. `role` is user, assistant or system (a tool's output is an assistant message
    with `source_role` "tool"); `tool_calls` lists {id, name, input, output, is_error}."""

    id: str
    session_id: str = ""
    seq: int = 0
    role: str = ""
    source_role: str | None = None
    content: str = ""
    thinking: str | None = None
    tool_calls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    model: str | None = None
    token_count: int = 0
    usage: Usage | None = None
    created_at: datetime | None = None


@dataclasses.dataclass
class Chat(Model):
    """A recorded conversation (spec 001's Session)."""

    id: str
    title: str = ""
    workspace_id: str | None = None
    provider: str = ""
    model: str | None = None
    message_count: int = 0
    token_count: int = 0
    usage: Usage | None = None
    tool_call_count: int = 0
    archived: bool = False
    tags: list[str] = dataclasses.field(default_factory=list)
    source_id: str | None = None
    parent_id: str | None = None
    started_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclasses.dataclass
class ChatDetail(Chat):
    """A chat with all its messages."""

    messages: list[Message] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ChatMatch(Chat):
    """A chat that matched a search: `snippet` is HTML-safe text with the matches in <mark>."""

    score: float = 0.0
    match_count: int = 0
    title_match: bool = False
    title_highlight: str | None = None
    snippet: str = ""
    best_message_id: str | None = None


@dataclasses.dataclass
class MessageMatch(Message):
    """A message that matched a search, with its chat's title and the highlighted snippet."""

    title: str = ""
    provider: str = ""
    workspace_id: str | None = None
    snippet: str = ""
    score: float = 0.0


@dataclasses.dataclass
class SearchResults(Model):
    """Matching chats and messages, best first. `total` counts matching messages (a floor when
    `total_exact` is false)."""

    query: str = ""
    sessions: list[ChatMatch] = dataclasses.field(default_factory=list)
    messages: list[MessageMatch] = dataclasses.field(default_factory=list)
    total: int = 0
    total_exact: bool = True
    limit: int = 0
    offset: int = 0

    @property
    def chats(self) -> list[ChatMatch]:
        return self.sessions


@dataclasses.dataclass
class HarvestReport(Model):
    """What an upload of transcripts did: counts per provider, the issues met, the time taken."""

    sessions_count: int = 0
    messages_count: int = 0
    providers: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)
    duration_ms: int | None = None

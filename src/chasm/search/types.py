"""Value types of the search domain, shared by the SQL of both databases and the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

# Snippets mark matches with these control characters; the service escapes the text, then turns
# them into <mark> tags.
MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "\u2026"
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class Filters:
    provider: tuple[str, ...] | None = None  # any of these providers
    workspace_id: uuid.UUID | None = None
    role: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class MessageHit:
    message_id: uuid.UUID
    chat_id: uuid.UUID
    role: str
    created_at: datetime | None
    score: float
    title: str | None
    provider: str
    workspace_id: uuid.UUID | None
    rowid: int | None  # SQLite: the FTS key, so snippets need no second lookup
    snippet: str | None = None  # raw (marked) snippet, when the ranking statement made it


@dataclass(frozen=True)
class MessagePage:
    hits: list[MessageHit]
    total: int
    total_exact: bool  # False: `total` is a floor (counting stopped there)


@dataclass(frozen=True)
class ChatHit:
    """A chat and its score; ranked chats carry the combined score (messages and title)."""

    chat_id: uuid.UUID
    score: float
    match_count: int
    best_message_id: uuid.UUID | None
    best_rowid: int | None = None  # SQLite: the FTS key of the best message
    title_match: bool = False

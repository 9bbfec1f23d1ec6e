"""Value types of the search domain, shared by the SQL of both databases and the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Snippets mark matches with these control characters; the service escapes the text, then turns
# them into <mark> tags.
MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "\u2026"
SNIPPET_WORDS = 24
# What the search reads of a message's tool calls (names, arguments, result excerpts): with its
# prose ("include", ranked below it), not at all ("exclude"), or alone ("only").
TOOL_MODES = ("include", "exclude", "only")
# A match in tool text weighs this much of the same match in prose (SQLite bm25 column weight;
# PostgreSQL's ts_rank gives the weight-D tool text 0.1 of the weight-A content).
TOOL_WEIGHT = 0.25


@dataclass(frozen=True)
class Filters:
    provider: tuple[str, ...] | None = None  # any of these providers
    workspace_id: uuid.UUID | None = None
    role: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tools: str = "include"  # one of TOOL_MODES


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
    message: Any = None  # PostgreSQL: the ChatMessage itself, read by the ranking statement


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
    # PostgreSQL: the best message's raw snippet and the highlighted title (when it matched), made
    # by the ranking statement.
    snippet: str | None = None
    title_snippet: str | None = None

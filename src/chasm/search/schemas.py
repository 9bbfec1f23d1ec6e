"""Read schemas of search: 001's SearchResults, whose hits are 001 Session and Message objects with
the match's snippet and score added."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from chasm.chats.schemas import ChatRead, MessageRead


class MessageMatch(MessageRead):
    """A 001 Message that matched, with its chat's title and the highlighted snippet."""

    model_config = ConfigDict(title=None)

    message_id: uuid.UUID = Field(description="Same as id")
    title: str
    provider: str
    workspace_id: uuid.UUID | None
    snippet: str = Field(description="HTML-safe text around the match, matches in <mark>")
    score: float


class ChatMatch(ChatRead):
    """A 001 Session that matched, by its title or its messages."""

    model_config = ConfigDict(title="SessionMatch")

    score: float
    match_count: int
    title_match: bool
    title_highlight: str | None
    snippet: str
    best_message_id: uuid.UUID | None


class MessageResults(BaseModel):
    query: str
    messages: list[MessageMatch]
    total: int
    total_exact: bool = Field(description="False: `total` is a floor (counting stopped there)")
    limit: int
    offset: int


class SearchResultsRead(BaseModel):
    """001 SearchResults."""

    model_config = ConfigDict(title="SearchResults")

    query: str
    sessions: list[ChatMatch]
    messages: list[MessageMatch]
    total: int
    total_exact: bool
    limit: int
    offset: int

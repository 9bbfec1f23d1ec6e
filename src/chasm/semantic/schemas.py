"""001's SemanticSearchResults: chats (001 Session objects) with a relevance and a snippet."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.chats.schemas import ChatRead


class SemanticResult(BaseModel):
    session: ChatRead
    relevance: float = Field(
        description="Higher is closer: cosine similarity (semantic) or fused rank score (hybrid)"
    )
    snippet: str = Field(description="HTML-safe text of the closest passage")
    message_id: uuid.UUID | None = Field(default=None, description="The message the passage is from")


class SemanticSearchResults(BaseModel):
    """001 SemanticSearchResults."""

    model_config = ConfigDict(title="SemanticSearchResults")

    results: list[SemanticResult]
    query: str
    mode: Literal["semantic", "hybrid"]
    model: str = Field(description="The embedding model that ranked the chats")

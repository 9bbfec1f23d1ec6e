"""Spec 001's /search/semantic, on both chat surfaces."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request

from chasm.auth.deps import ChatReader
from chasm.chats.schemas import for_spec001
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.errors import ChasmError
from chasm.kit.surface import ChatRouter
from chasm.semantic import service
from chasm.semantic.exceptions import EmbeddingsUnavailable
from chasm.semantic.schemas import SemanticSearchResults

routes = ChatRouter(tag=Tag.SEARCH, present_v1=for_spec001)


def _engine(request: Request) -> service.Engine:
    engine = getattr(request.app.state, "semantic", None)
    if isinstance(engine, ChasmError):
        raise engine
    if engine is None:
        raise EmbeddingsUnavailable("semantic search is not running on this server")
    return engine  # type: ignore[no-any-return]


@routes.get("/search/semantic", model=SemanticSearchResults)
async def semantic_search(
    actor: ChatReader,
    db: DbSession,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="What to look for, in any words")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    mode: Annotated[
        Literal["semantic", "hybrid"],
        Query(description="semantic: by meaning; hybrid: meaning and words fused by reciprocal rank"),
    ] = "semantic",
) -> SemanticSearchResults:
    """Chats closest in meaning to the query, each with its closest passage."""
    return await service.search(db, actor, _engine(request), q, limit, mode)

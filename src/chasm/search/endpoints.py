"""Search routes of spec 001 (/search, /search/sessions) and 003 (/sessions/search), built per
surface. Message hits are 001 Message objects with the snippet and score added."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query

from chasm.auth.deps import ChatReader
from chasm.chats.schemas import for_spec001
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.pagination import MAX_SEARCH_OFFSET
from chasm.kit.surface import ChatRouter
from chasm.search import service
from chasm.search.repository import Filters
from chasm.search.schemas import ChatMatch, MessageResults, SearchResultsRead

routes = ChatRouter(tag=Tag.SEARCH, present_v1=for_spec001)


def search_filters(
    provider: Annotated[
        str | None,
        Query(description="Only chats of this provider (a 001 name such as claude, or a source id)"),
    ] = None,
    workspace_id: Annotated[uuid.UUID | None, Query(description="Only chats of this workspace")] = None,
    workspace: Annotated[uuid.UUID | None, Query(description="Alias of workspace_id (spec 003)")] = None,
    role: Annotated[str | None, Query(description="Only messages of this role")] = None,
    since: Annotated[datetime | None, Query(description="Messages at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Messages before this time")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="Alias of since")] = None,
    to: Annotated[datetime | None, Query(description="Alias of until")] = None,
    tools: Annotated[
        Literal["include", "exclude", "only"],
        Query(
            description="Tool calls (names, arguments, result excerpts): searched and ranked below "
            "prose (include), not searched (exclude), or searched alone (only)"
        ),
    ] = "include",
) -> Filters:
    return service.make_filters(provider, workspace_id or workspace, role, since or from_, until or to, tools)


SearchFilters = Annotated[Filters, Depends(search_filters)]
Q = Annotated[str, Query(min_length=1, max_length=1000, description="Search text")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)]


@routes.get("/sessions/search", model=list[ChatMatch])
async def search_chats_legacy(
    actor: ChatReader, db: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> list[ChatMatch]:
    """Chats whose title or messages match, best first, with highlighted snippets."""
    return await service.search_chats(db, actor, q, filters, limit, offset)


@routes.get("/search", model=SearchResultsRead)
async def search_all(
    actor: ChatReader, db: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> SearchResultsRead:
    """Matching chats and matching messages, ranked, with highlighted snippets."""
    return await service.search_all(db, actor, q, filters, limit, offset)


@routes.get("/search/sessions", model=list[ChatMatch])
async def search_chats(
    actor: ChatReader, db: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> list[ChatMatch]:
    """Chats whose title or messages match, best first, with highlighted snippets."""
    return await service.search_chats(db, actor, q, filters, limit, offset)


@routes.get("/search/messages", model=MessageResults)
async def search_messages(
    actor: ChatReader, db: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> MessageResults:
    """Matching messages, best first, with highlighted snippets and the total count."""
    return await service.search_messages(db, actor, q, filters, limit, offset)

"""Search routes of spec 001 (/search, /search/sessions) and 003 (/sessions/search)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from chasm.auth.deps import ChatReader
from chasm.kit.deps import DbSession
from chasm.kit.envelope import ok
from chasm.kit.pagination import MAX_SEARCH_OFFSET
from chasm.search import service
from chasm.search.repository import Filters

router = APIRouter(tags=["Search"])


def search_filters(
    provider: Annotated[str | None, Query(description="Only chats harvested from this provider")] = None,
    workspace_id: Annotated[uuid.UUID | None, Query(description="Only chats of this workspace")] = None,
    workspace: Annotated[uuid.UUID | None, Query(description="Alias of workspace_id (spec 003)")] = None,
    role: Annotated[str | None, Query(description="Only messages of this role")] = None,
    since: Annotated[datetime | None, Query(description="Messages at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Messages before this time")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="Alias of since")] = None,
    to: Annotated[datetime | None, Query(description="Alias of until")] = None,
) -> Filters:
    return service.make_filters(provider, workspace_id or workspace, role, since or from_, until or to)


SearchFilters = Annotated[Filters, Depends(search_filters)]
Q = Annotated[str, Query(min_length=1, max_length=1000, description="Search text")]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)]


@router.get("/sessions/search")
async def search_sessions_legacy(
    actor: ChatReader, session: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Chats whose title or messages match, best first, with highlighted snippets."""
    return ok(await service.search_sessions(session, actor, q, filters, limit, offset))


@router.get("/search")
async def search_all(
    actor: ChatReader, session: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Matching chats and matching messages, ranked, with highlighted snippets."""
    return ok(await service.search_all(session, actor, q, filters, limit, offset))


@router.get("/search/sessions")
async def search_sessions(
    actor: ChatReader, session: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Chats whose title or messages match, best first, with highlighted snippets."""
    return ok(await service.search_sessions(session, actor, q, filters, limit, offset))


@router.get("/search/messages")
async def search_messages(
    actor: ChatReader, session: DbSession, q: Q, filters: SearchFilters, limit: Limit = 20, offset: Offset = 0
) -> dict[str, Any]:
    """Matching messages, best first, with highlighted snippets and the total count."""
    return ok(await service.search_messages(session, actor, q, filters, limit, offset))

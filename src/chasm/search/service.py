"""Search the account's chats: message hits, chats grouped by their best hits, highlighted snippets."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.chats.service import chat_out
from chasm.kit.timeutil import iso
from chasm.search import repository as repo
from chasm.search.query import Query, parse
from chasm.search.repository import Filters

TITLE_WEIGHT = 2.0  # a word in the title says more about a chat than the same word in one message
_CONTROL = re.compile(r"[\x00-\x01\x04-\x08\x0b\x0c\x0e-\x1f]")


def make_filters(
    provider: str | None = None,
    workspace_id: uuid.UUID | None = None,
    role: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Filters:
    return Filters(provider, workspace_id, role, _utc(since), _utc(until))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def render_snippet(raw: str) -> str:
    """HTML-safe snippet: the chat text escaped, the matches wrapped in <mark>."""
    escaped = html.escape(_CONTROL.sub("", raw), quote=False)
    return escaped.replace(repo.MARK_START, "<mark>").replace(repo.MARK_END, "</mark>")


async def _message_results(
    session: AsyncSession, actor: Actor, query: Query, filters: Filters, limit: int, offset: int, fast: bool
) -> list[dict[str, Any]]:
    hits = await repo.message_hits(session, actor.account_id, query, filters, limit, offset, fast)
    rowids = {h.rowid: h.message_id for h in hits if h.rowid is not None}
    snippets = await repo.message_snippets(session, query, [h.message_id for h in hits], rowids or None)
    results = []
    for hit in hits:
        results.append(
            {
                "id": str(hit.message_id),
                "message_id": str(hit.message_id),
                "session_id": str(hit.chat_id),
                "title": hit.title,
                "provider": hit.provider,
                "workspace_id": str(hit.workspace_id) if hit.workspace_id else None,
                "role": hit.role,
                "snippet": render_snippet(snippets.get(hit.message_id, "")),
                "score": round(hit.score, 6),
                "created_at": iso(hit.created_at),
            }
        )
    return results


async def search_messages(
    session: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> dict[str, Any]:
    """Matching messages, best first, and how many there are in all."""
    query = parse(q)
    fast = await repo.fts_alone(session, actor.account_id, filters)
    messages = await _message_results(session, actor, query, filters, limit, offset, fast)
    total = await repo.count_message_hits(session, actor.account_id, query, filters, fast)
    return {"query": q, "messages": messages, "total": total, "limit": limit, "offset": offset}


async def search_sessions(
    session: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    """Chats ranked by title match and best message match, each with its best snippet."""
    query = parse(q)
    window = limit + offset
    by_message = {
        h.chat_id: h
        for h in await repo.chat_hits_by_messages(session, actor.account_id, query, filters, window)
    }
    titles: dict[uuid.UUID, float] = {}
    if filters.role is None:
        titles = await repo.title_hits(session, actor.account_id, query, filters, window)
        # Title matches outside the message window still need their message score to rank exactly.
        missing = [cid for cid in titles if cid not in by_message]
        if missing:
            extra = await repo.chat_hits_by_messages(
                session, actor.account_id, query, filters, None, only=missing
            )
            by_message.update({h.chat_id: h for h in extra})
    scores = {cid: h.score for cid, h in by_message.items()}
    for cid, title_score in titles.items():
        scores[cid] = scores.get(cid, 0.0) + TITLE_WEIGHT * title_score
    ranked = sorted(scores, key=lambda cid: (-scores[cid], str(cid)))[offset:window]
    chats = await repo.chats_by_id(session, actor.account_id, ranked)
    best = [by_message[cid].best_message_id for cid in ranked if cid in by_message]
    snippets = await repo.message_snippets(session, query, [m for m in best if m is not None])
    title_marks = await repo.title_snippets(session, query, [cid for cid in ranked if cid in titles])
    results = []
    for cid in ranked:
        hit = by_message.get(cid)
        best_id = hit.best_message_id if hit else None
        raw = snippets.get(best_id, "") if best_id else ""
        results.append(
            {
                **chat_out(chats[cid]),
                "score": round(scores[cid], 6),
                "match_count": hit.match_count if hit else 0,
                "title_match": cid in titles,
                "title_highlight": render_snippet(title_marks[cid]) if cid in title_marks else None,
                "snippet": render_snippet(raw) if raw else render_snippet(title_marks.get(cid, "")),
                "best_message_id": str(best_id) if best_id else None,
            }
        )
    return results


async def search_all(
    session: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> dict[str, Any]:
    """Spec 001 SearchResults: matching chats and matching messages."""
    found = await search_messages(session, actor, q, filters, limit, offset)
    sessions = await search_sessions(session, actor, q, filters, limit, offset)
    return {
        "query": q,
        "sessions": sessions,
        "messages": found["messages"],
        "total": found["total"],
        "limit": limit,
        "offset": offset,
    }

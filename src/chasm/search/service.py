"""Search the account's chats: message hits, chats grouped by their best hits, highlighted snippets."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.chats import repository as chats_repo
from chasm.chats.service import chat_out, message_out
from chasm.harvest import provider_names
from chasm.kit import cjk
from chasm.search import repository as repo
from chasm.search.query import Query, parse
from chasm.search.repository import Filters
from chasm.search.schemas import ChatMatch, MessageMatch, MessageResults, SearchResultsRead

TITLE_WEIGHT = 2.0  # a word in the title says more about a chat than the same word in one message
_CONTROL = re.compile(r"[\x00-\x01\x04-\x08\x0b\x0c\x0e-\x1f]")


def make_filters(
    provider: str | None = None,
    workspace_id: uuid.UUID | None = None,
    role: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tools: str = "include",
) -> Filters:
    providers = provider_names.chat_providers(provider) if provider else None
    return Filters(providers, workspace_id, role, _utc(since), _utc(until), tools)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def render_snippet(raw: str, query: Query | None = None) -> str:
    """HTML-safe snippet: the chat text escaped, the matches wrapped in <mark>."""
    # Cut from text with CJK characters set apart (kit.cjk): as the chat reads.
    runs = cjk.runs(w for t in query.terms if not t.negated for w in t.words) if query else ()
    raw = cjk.unmark(raw, repo.MARK_START, repo.MARK_END, runs)
    escaped = html.escape(_CONTROL.sub("", raw), quote=False)
    return escaped.replace(repo.MARK_START, "<mark>").replace(repo.MARK_END, "</mark>")


async def _message_results(db: AsyncSession, query: Query, hits: list[repo.MessageHit]) -> list[MessageMatch]:
    snippets = {h.message_id: h.snippet for h in hits if h.snippet is not None}
    if len(snippets) < len(hits):
        snippets = await repo.message_snippets(db, query, [h.message_id for h in hits])
    rows = {h.message_id: h.message for h in hits if h.message is not None}
    if len(rows) < len(hits):
        rows = {m.id: m for m in await chats_repo.messages_by_id(db, [h.message_id for h in hits])}
    results = []
    for hit in hits:
        row = rows.get(hit.message_id)
        if row is None:
            continue  # deleted since it was ranked
        results.append(
            MessageMatch(
                **message_out(row).model_dump(),
                message_id=hit.message_id,
                title=hit.title or "",
                provider=hit.provider,
                workspace_id=hit.workspace_id,
                snippet=render_snippet(snippets.get(hit.message_id, ""), query),
                score=round(hit.score, 6),
            )
        )
    return results


async def search_messages(
    db: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> MessageResults:
    """Matching messages, best first, and how many there are in all (`total_exact` false: at least
    that many; counting through filters stops at repo.TOTAL_CAP)."""
    query = parse(q)
    page = await repo.message_page(db, actor.account_id, query, filters, limit, offset)
    messages = await _message_results(db, query, page.hits)
    return MessageResults(
        query=q, messages=messages, total=page.total, total_exact=page.total_exact, limit=limit, offset=offset
    )


async def search_chats(
    db: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> list[ChatMatch]:
    """Chats ranked by title match and best message match, each with its best snippet."""
    query = parse(q)
    window = limit + offset
    ranked = (await repo.rank_chats(db, actor.account_id, query, filters, window, TITLE_WEIGHT))[offset:]
    chats = await repo.chats_by_id(db, actor.account_id, [h.chat_id for h in ranked])
    titled = [h.chat_id for h in ranked if h.title_match]
    snippets, title_marks = await repo.chat_snippets(db, query, ranked, titled)
    results = []
    for hit in ranked:
        if hit.chat_id not in chats:
            continue  # deleted since it was ranked
        best_id = hit.best_message_id
        raw = snippets.get(best_id, "") if best_id else ""
        cid = hit.chat_id
        results.append(
            ChatMatch(
                **chat_out(chats[cid], host_paths=actor.instance_admin).model_dump(),
                score=round(hit.score, 6),
                match_count=hit.match_count,
                title_match=hit.title_match,
                title_highlight=render_snippet(title_marks[cid], query) if cid in title_marks else None,
                snippet=render_snippet(raw or title_marks.get(cid, ""), query),
                best_message_id=best_id,
            )
        )
    return results


async def search_all(
    db: AsyncSession, actor: Actor, q: str, filters: Filters, limit: int = 20, offset: int = 0
) -> SearchResultsRead:
    """Spec 001 SearchResults: matching chats and matching messages."""
    found = await search_messages(db, actor, q, filters, limit, offset)
    chats = await search_chats(db, actor, q, filters, limit, offset)
    return SearchResultsRead(
        query=q,
        sessions=chats,
        messages=found.messages,
        total=found.total,
        total_exact=found.total_exact,
        limit=limit,
        offset=offset,
    )

"""Full-text SQL: FTS5 with bm25() and snippet() on SQLite (the ranking itself lives in fts5.py),
tsvector with ts_rank() and ts_headline() on PostgreSQL. Scores are returned higher-is-better on both.
Snippets mark matches with the control characters MARK_START / MARK_END so the service can escape the
text before adding markup."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, column, literal_column, select, table, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage
from chasm.search import fts5, fts5_chats, pg
from chasm.search.exceptions import InvalidQuery
from chasm.search.query import Query, to_fts5
from chasm.search.types import (
    ELLIPSIS,
    MARK_END,
    MARK_START,
    SNIPPET_WORDS,
    ChatHit,
    Filters,
    MessageHit,
    MessagePage,
)

__all__ = ["MARK_END", "MARK_START", "ChatHit", "Filters", "MessageHit", "MessagePage"]

TOTAL_CAP = fts5.TOTAL_CAP
PG_CANDIDATES = pg.PG_CANDIDATES

_messages_fts = table("chat_messages_fts", column("rowid"))
_chats_fts = table("chats_fts", column("rowid"))
_message_rowid: ColumnElement[Any] = literal_column("chat_messages.rowid")
_chat_rowid: ColumnElement[Any] = literal_column("chats.rowid")


def _is_sqlite(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "sqlite"


async def _run(db: AsyncSession, stmt: Any) -> Any:
    """Execute; an expression the index still rejects is the user's query, hence a 400."""
    try:
        return await db.execute(stmt)
    except (OperationalError, DBAPIError) as exc:
        message = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        if "fts5" in message or "syntax" in message or "tsquery" in message:
            raise InvalidQuery(f"The search index rejected the query: {message}") from exc
        raise


async def message_page(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, limit: int, offset: int
) -> MessagePage:
    """The ranked page of matching messages and how many match in all (exact below TOTAL_CAP)."""
    try:
        if _is_sqlite(db):
            return await fts5.message_page(db, account_id, query, filters, limit, offset)
        hits, candidates, cap = await pg.message_hits(db, account_id, query, filters, limit, offset)
        if 0 < len(hits) < limit or (offset == 0 and len(hits) < limit):
            return MessagePage(hits, offset + len(hits), True)
        if hits:  # the candidates are every match, or the first `cap` of them
            if candidates >= TOTAL_CAP:
                return MessagePage(hits, TOTAL_CAP, False)
            return MessagePage(hits, candidates, candidates < cap)
        total, exact = await pg.count_message_hits(db, account_id, query, filters, TOTAL_CAP)
        return MessagePage(hits, total, exact)
    except (OperationalError, DBAPIError) as exc:
        _reraise(exc)
        raise


async def rank_chats(
    db: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    window: int,
    title_weight: float,
) -> list[ChatHit]:
    """The best `window` chats: best message score plus title_weight x title score."""
    try:
        if _is_sqlite(db):
            return await fts5_chats.rank_chats(db, account_id, query, filters, window, title_weight)
        return await pg.rank_chats(db, account_id, query, filters, window, title_weight)
    except (OperationalError, DBAPIError) as exc:
        _reraise(exc)
        raise


def _reraise(exc: OperationalError | DBAPIError) -> None:
    """An expression the index still rejects is the user's query, hence a 400."""
    message = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
    if "fts5" in message or "syntax" in message or "tsquery" in message:
        raise InvalidQuery(f"The search index rejected the query: {message}") from exc


async def message_snippets(
    db: AsyncSession,
    query: Query,
    message_ids: list[uuid.UUID],
    rowids: dict[int, uuid.UUID] | None = None,
) -> dict[uuid.UUID, str]:
    """Highlighted fragments of the given (already matched and authorised) messages. On SQLite,
    `rowids` ({rowid: message id}) saves resolving them."""
    if not message_ids:
        return {}
    if _is_sqlite(db):
        # By rowid, FTS5 looks the few rows up instead of walking every match.
        ids = rowids
        if ids is None:
            rowid_rows = await db.execute(
                select(_message_rowid, ChatMessage.id).where(ChatMessage.id.in_(message_ids))
            )
            ids = {rowid: mid for rowid, mid in rowid_rows.all()}
        snippet: ColumnElement[Any] = literal_column(
            f"snippet(chat_messages_fts, -1, '{MARK_START}', '{MARK_END}', '{ELLIPSIS}', {SNIPPET_WORDS})"
        )
        stmt = (
            select(_messages_fts.c.rowid, snippet.label("snippet"))
            .where(text("chat_messages_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
            .where(_messages_fts.c.rowid.in_(list(ids)))
        )
        rows = (await _run(db, stmt)).all()
        return {ids[r.rowid]: r.snippet or "" for r in rows}
    else:
        stmt = select(ChatMessage.id, pg.message_headline(query).label("snippet")).where(
            ChatMessage.id.in_(message_ids)
        )
    rows = (await _run(db, stmt)).all()
    return {r.id: r.snippet or "" for r in rows}


async def title_snippets(db: AsyncSession, query: Query, chat_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not chat_ids:
        return {}
    if _is_sqlite(db):
        highlight: ColumnElement[Any] = literal_column(
            f"highlight(chats_fts, 0, '{MARK_START}', '{MARK_END}')"
        )
        stmt = (
            select(Chat.id, highlight.label("snippet"))
            .select_from(_chats_fts)
            .join(Chat, _chat_rowid == _chats_fts.c.rowid)
            .where(text("chats_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
            .where(Chat.id.in_(chat_ids))
        )
    else:
        stmt = select(Chat.id, pg.title_headline(query).label("snippet")).where(Chat.id.in_(chat_ids))
    rows = (await _run(db, stmt)).all()
    return {r.id: r.snippet or "" for r in rows}


async def chat_snippets(
    db: AsyncSession, query: Query, best: list[ChatHit], titled: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Snippets of the chats' best messages, and highlighted titles: ({message id: snippet},
    {chat id: title}). On SQLite one statement looks both up by their FTS keys."""
    messages = [h for h in best if h.best_message_id is not None]
    made = all(h.snippet is not None for h in messages) and all(
        h.title_snippet is not None for h in best if h.chat_id in titled
    )
    if made and not _is_sqlite(db):  # PostgreSQL: the ranking statement made them
        return (
            {h.best_message_id: h.snippet or "" for h in messages if h.best_message_id is not None},
            {h.chat_id: h.title_snippet or "" for h in best if h.chat_id in titled},
        )
    if not _is_sqlite(db) or any(h.best_rowid is None for h in messages):
        ids = [h.best_message_id for h in messages if h.best_message_id is not None]
        return await message_snippets(db, query, ids), await title_snippets(db, query, titled)
    by_rowid = {h.best_rowid: h.best_message_id for h in messages}
    parts, params = [], {"fts_match": to_fts5(query)}
    if by_rowid:
        rowids = [int(r) for r in by_rowid if r is not None]
        parts.append(f"SELECT 'm' AS kind, k, snippet FROM ({fts5.snippets_sql(query, rowids)})")
    if titled:
        hexes = ", ".join(f"'{cid.hex}'" for cid in titled)  # uuid hex digits: nothing to escape
        parts.append(
            f"SELECT 't', chats.id, highlight(chats_fts, 0, '{MARK_START}', '{MARK_END}') FROM chats_fts"
            " JOIN chats ON chats.rowid = chats_fts.rowid"
            f" WHERE chats_fts MATCH :fts_match AND chats.id IN ({hexes})"
        )
    if not parts:
        return {}, {}
    rows = (await _run(db, text(" UNION ALL ".join(parts)).bindparams(**params))).all()
    snippets: dict[uuid.UUID, str] = {}
    titles: dict[uuid.UUID, str] = {}
    for kind, key, snippet in rows:
        if kind == "m":
            message_id = by_rowid.get(key)
            if message_id is not None:
                snippets[message_id] = snippet or ""
        else:
            titles[uuid.UUID(hex=key)] = snippet or ""
    return snippets, titles


async def chats_by_id(
    db: AsyncSession, account_id: uuid.UUID, chat_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Chat]:
    if not chat_ids:
        return {}
    # On SQLite `+account_id` keeps the planner on the primary key: with one account (or a few) the
    # account index would walk every chat.
    owner = (
        literal_column("+chats.account_id", type_=Chat.account_id.type) if _is_sqlite(db) else Chat.account_id
    )
    rows = await db.scalars(select(Chat).where(Chat.id.in_(chat_ids), owner == account_id))
    return {c.id: c for c in rows}

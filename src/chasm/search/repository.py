"""Full-text SQL: FTS5 with bm25() and snippet() on SQLite (the ranking itself lives in fts5.py),
tsvector with ts_rank() and ts_headline() on PostgreSQL. Scores are returned higher-is-better on both.
Snippets mark matches with the control characters MARK_START / MARK_END so the service can escape the
text before adding markup."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage
from chasm.search import fts5, fts5_chats
from chasm.search.exceptions import InvalidQuery
from chasm.search.query import PG_CONFIG, Query, to_fts5, to_tsquery
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
# PostgreSQL ranks at most this many matching messages, the most recent (created_at, then id);
# a query with fewer matches is ranked over all of them, as before. ts_rank reads each candidate's
# whole vector, so ranking every match of a common word (50k at 1M messages) cost ~200 ms.
PG_CANDIDATES = TOTAL_CAP  # so that counting the candidates gives the capped total as well

_messages_fts = table("chat_messages_fts", column("rowid"))
_chats_fts = table("chats_fts", column("rowid"))
_message_rowid: ColumnElement[Any] = literal_column("chat_messages.rowid")
_chat_rowid: ColumnElement[Any] = literal_column("chats.rowid")
_message_vector: ColumnElement[Any] = literal_column("chat_messages.search_vector")
_title_vector: ColumnElement[Any] = literal_column("chats.title_vector")
# Migration 0014: the configuration and the text function that tokenise as SQLite's index does.
_PG_CONFIG: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
# The text a PostgreSQL snippet is cut from: the content, then the tool text, with CJK characters
# set apart as in the index (migration 0020; the service takes the separators out again).
_searchable_text: ColumnElement[Any] = func.chasm_cjk(
    func.concat_ws("\n", ChatMessage.content, ChatMessage.tool_text)
)
# ShortWord=0: no word is dropped from a fragment's ends for being short, as in FTS5's snippets
# (PostgreSQL's default of three trimmed a fragment of CJK characters, one-letter words each, to
# the match alone).
_PG_HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=0, "
    f'MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)


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
        hits, candidates, cap = await _pg_message_hits(db, account_id, query, filters, limit, offset)
        if 0 < len(hits) < limit or (offset == 0 and len(hits) < limit):
            return MessagePage(hits, offset + len(hits), True)
        if hits:  # the candidates are every match, or the first `cap` of them
            if candidates >= TOTAL_CAP:
                return MessagePage(hits, TOTAL_CAP, False)
            return MessagePage(hits, candidates, candidates < cap)
        total, exact = await _pg_count_message_hits(db, account_id, query, filters)
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
        return await _pg_rank_chats(db, account_id, query, filters, window, title_weight)
    except (OperationalError, DBAPIError) as exc:
        _reraise(exc)
        raise


def _reraise(exc: OperationalError | DBAPIError) -> None:
    """An expression the index still rejects is the user's query, hence a 400."""
    message = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
    if "fts5" in message or "syntax" in message or "tsquery" in message:
        raise InvalidQuery(f"The search index rejected the query: {message}") from exc


def _pg_message_match(query: Query, tools: str = "include") -> tuple[Select[Any], ColumnElement[Any]]:
    """FROM/WHERE of the matching messages (joined to their chat) and the score expression. The
    vector holds the content (weight A) and the tool text (weight D, ranked at 0.1 of it); with
    `tools` "exclude" or "only" the index finds the candidates and one part is checked again."""
    tsq = to_tsquery(query)
    score = func.ts_rank(_message_vector, tsq, 1)
    base = (
        select()
        .select_from(ChatMessage)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(_message_vector.op("@@")(tsq))
    )
    if tools != "include":
        part = ChatMessage.tool_text if tools == "only" else ChatMessage.content
        base = base.where(func.to_tsvector(_PG_CONFIG, func.chasm_fts_text(part)).op("@@")(tsq))
    return base, score


def _pg_chat_filters(account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Chat.account_id == account_id]
    if filters.provider:
        clauses.append(Chat.provider.in_(filters.provider))
    if filters.workspace_id:
        clauses.append(Chat.workspace_id == filters.workspace_id)
    return clauses


def _pg_message_filters(account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    clauses = _pg_chat_filters(account_id, filters)
    if filters.role:
        clauses.append(ChatMessage.role == filters.role)
    if filters.since:
        clauses.append(ChatMessage.created_at >= filters.since)
    if filters.until:
        clauses.append(ChatMessage.created_at < filters.until)
    return clauses


def _pg_title_filters(account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    clauses = _pg_chat_filters(account_id, filters)
    if filters.since:
        clauses.append(Chat.updated_at >= filters.since)
    if filters.until:
        clauses.append(func.coalesce(Chat.started_at, Chat.created_at) < filters.until)
    return clauses


def _pg_candidates(
    query: Query, account_id: uuid.UUID, filters: Filters, cap: int, *columns: ColumnElement[Any]
) -> Any:
    """The `cap` most recent matching messages (GIN finds the matches; only these are ranked), with
    their vector and the given columns."""
    base, _ = _pg_message_match(query, filters.tools)
    return (
        base.add_columns(_message_vector.label("vector"), *columns)
        .where(*_pg_message_filters(account_id, filters))
        .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
        .limit(cap)
        .subquery("candidates")
    )


async def _pg_message_hits(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, limit: int, offset: int
) -> tuple[list[MessageHit], int, int]:
    """The page, how many candidates were ranked, and their cap (fewer: every match was ranked)."""
    cap = max(PG_CANDIDATES, offset + limit)
    cand = _pg_candidates(
        query,
        account_id,
        filters,
        cap,
        ChatMessage.id.label("id"),
        ChatMessage.chat_id.label("chat_id"),
        ChatMessage.role.label("role"),
        ChatMessage.created_at.label("created_at"),
        Chat.title.label("title"),
        Chat.provider.label("provider"),
        Chat.workspace_id.label("workspace_id"),
    )
    score = func.ts_rank(cand.c.vector, to_tsquery(query), 1).label("score")
    stmt = (
        select(
            cand.c.id,
            cand.c.chat_id,
            cand.c.role,
            cand.c.created_at,
            score,
            cand.c.title,
            cand.c.provider,
            cand.c.workspace_id,
            func.count().over().label("candidates"),
        )
        .order_by(score.desc(), cand.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await db.execute(stmt)).all()
    hits = [
        MessageHit(
            r.id, r.chat_id, r.role, r.created_at, float(r.score), r.title, r.provider, r.workspace_id, None
        )
        for r in rows
    ]
    return hits, (int(rows[0].candidates) if rows else 0), cap


async def _pg_count_message_hits(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters
) -> tuple[int, bool]:
    base, _ = _pg_message_match(query, filters.tools)
    matching = base.add_columns(literal_column("1")).where(*_pg_message_filters(account_id, filters))
    capped = matching.limit(TOTAL_CAP).subquery()
    counted = int((await db.execute(select(func.count()).select_from(capped))).scalar_one())
    return counted, counted < TOTAL_CAP


async def _pg_rank_chats(
    db: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    window: int,
    title_weight: float,
) -> list[ChatHit]:
    """One statement: every matching chat's best message (GIN finds the matches, ts_rank scores
    them), full-outer-joined to every matching title, ranked by the combined score."""
    cand = _pg_candidates(
        query,
        account_id,
        filters,
        PG_CANDIDATES,
        ChatMessage.chat_id.label("chat_id"),
        ChatMessage.id.label("message_id"),
    )
    score = func.ts_rank(cand.c.vector, to_tsquery(query), 1)
    scored = select(
        cand.c.chat_id,
        cand.c.message_id,
        score.label("score"),
        func.count().over(partition_by=cand.c.chat_id).label("n"),
        func.count().over().label("candidates"),
        func.row_number()
        .over(partition_by=cand.c.chat_id, order_by=(score.desc(), cand.c.message_id))
        .label("pos"),
    ).subquery("scored")
    best = (
        select(scored.c.chat_id, scored.c.score, scored.c.n, scored.c.message_id, scored.c.candidates)
        .where(scored.c.pos == 1)
        .subquery("best")
    )
    tsq = to_tsquery(query)
    title_match: ColumnElement[Any] = _title_vector.op("@@")(tsq)
    if filters.role or filters.tools == "only":
        title_match = literal_column("false")  # a role filter or tool calls alone: messages only
    titles = (
        select(Chat.id.label("chat_id"), func.ts_rank(_title_vector, tsq, 1).label("score"))
        .where(title_match, *_pg_title_filters(account_id, filters))
        .subquery("titles")
    )
    chat_id = func.coalesce(best.c.chat_id, titles.c.chat_id).label("chat_id")
    combined = (func.coalesce(best.c.score, 0.0) + title_weight * func.coalesce(titles.c.score, 0.0)).label(
        "combined"
    )
    stmt = (
        select(
            chat_id,
            combined,
            func.coalesce(best.c.n, 0).label("n"),
            best.c.message_id,
            titles.c.chat_id.is_not(None).label("title_match"),
            best.c.candidates,
        )
        .select_from(best.join(titles, best.c.chat_id == titles.c.chat_id, full=True))
        .order_by(combined.desc(), chat_id)
        .limit(window)
    )
    rows = (await db.execute(stmt)).all()
    counts = {r.chat_id: int(r.n) for r in rows}
    if any((r.candidates or 0) >= PG_CANDIDATES for r in rows):
        # Candidates were capped: count each listed chat's matches in full, as SQLite does.
        base, _ = _pg_message_match(query, filters.tools)
        counted = (
            base.add_columns(ChatMessage.chat_id, func.count())
            .where(*_pg_message_filters(account_id, filters), ChatMessage.chat_id.in_(list(counts)))
            .group_by(ChatMessage.chat_id)
        )
        counts.update({cid: int(n) for cid, n in (await db.execute(counted)).all()})
    return [
        ChatHit(
            r.chat_id,
            float(r.combined),
            counts[r.chat_id],
            r.message_id,
            None,
            title_match=bool(r.title_match),
        )
        for r in rows
    ]


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
        tsq = to_tsquery(query)
        stmt = select(
            ChatMessage.id,
            func.ts_headline(_PG_CONFIG, _searchable_text, tsq, _PG_HEADLINE).label("snippet"),
        ).where(ChatMessage.id.in_(message_ids))
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
        tsq = to_tsquery(query)
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
        stmt = select(
            Chat.id,
            func.ts_headline(_PG_CONFIG, func.chasm_cjk(func.coalesce(Chat.title, "")), tsq, options).label(
                "snippet"
            ),
        ).where(Chat.id.in_(chat_ids))
    rows = (await _run(db, stmt)).all()
    return {r.id: r.snippet or "" for r in rows}


async def chat_snippets(
    db: AsyncSession, query: Query, best: list[ChatHit], titled: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Snippets of the chats' best messages, and highlighted titles: ({message id: snippet},
    {chat id: title}). On SQLite one statement looks both up by their FTS keys."""
    messages = [h for h in best if h.best_message_id is not None]
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

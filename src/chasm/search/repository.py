"""Full-text SQL: FTS5 with bm25() and snippet() on SQLite, tsvector with ts_rank() and ts_headline()
on PostgreSQL. Scores are returned higher-is-better on both. Snippets mark matches with the control
characters MARK_START / MARK_END so the service can escape the text before adding markup."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage
from chasm.search.exceptions import InvalidQuery
from chasm.search.query import Query, to_fts5, to_tsquery

MARK_START = "\x02"
MARK_END = "\x03"
ELLIPSIS = "\u2026"
SNIPPET_WORDS = 24

_messages_fts = table("chat_messages_fts", column("rowid"))
_chats_fts = table("chats_fts", column("rowid"))
_message_rowid: ColumnElement[Any] = literal_column("chat_messages.rowid")
_chat_rowid: ColumnElement[Any] = literal_column("chats.rowid")
_message_vector: ColumnElement[Any] = literal_column("chat_messages.search_vector")
_title_vector: ColumnElement[Any] = literal_column("chats.title_vector")
_PG_CONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")
_PG_HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8, "
    f'MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)


@dataclass(frozen=True)
class Filters:
    provider: str | None = None
    workspace_id: uuid.UUID | None = None
    role: str | None = None
    since: datetime | None = None
    until: datetime | None = None


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


@dataclass(frozen=True)
class ChatHit:
    chat_id: uuid.UUID
    score: float
    match_count: int
    best_message_id: uuid.UUID | None


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _filter_column(sqlite: bool, column: Any) -> ColumnElement[Any]:
    """On SQLite, `+column` keeps the planner from driving the query by that column's index (it
    has no statistics and would scan every chat of a provider or every user message, probing the
    FTS index row by row); the full-text match must lead."""
    if not sqlite:
        return column  # type: ignore[no-any-return]
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


def _chat_filters(sqlite: bool, account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    col = _filter_column
    clauses: list[ColumnElement[bool]] = [col(sqlite, Chat.account_id) == account_id]
    if filters.provider:
        clauses.append(col(sqlite, Chat.provider) == filters.provider)
    if filters.workspace_id:
        clauses.append(col(sqlite, Chat.workspace_id) == filters.workspace_id)
    return clauses


def _message_filters(sqlite: bool, account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    col = _filter_column
    clauses = _chat_filters(sqlite, account_id, filters)
    if filters.role:
        clauses.append(col(sqlite, ChatMessage.role) == filters.role)
    if filters.since:
        clauses.append(col(sqlite, ChatMessage.created_at) >= filters.since)
    if filters.until:
        clauses.append(col(sqlite, ChatMessage.created_at) < filters.until)
    return clauses


def _title_filters(sqlite: bool, account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    clauses = _chat_filters(sqlite, account_id, filters)
    if filters.since:
        clauses.append(_filter_column(sqlite, Chat.updated_at) >= filters.since)
    if filters.until:
        clauses.append(func.coalesce(Chat.started_at, Chat.created_at) < filters.until)
    return clauses


def _message_match(session: AsyncSession, query: Query) -> tuple[Select[Any], ColumnElement[Any]]:
    """FROM/WHERE of the matching messages (joined to their chat) and the score expression."""
    if _is_sqlite(session):
        score: ColumnElement[Any] = -literal_column("bm25(chat_messages_fts)")
        base = (
            select()
            .select_from(_messages_fts)
            .join(ChatMessage, _message_rowid == _messages_fts.c.rowid)
            .join(Chat, Chat.id == ChatMessage.chat_id)
            .where(text("chat_messages_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
        )
        return base, score
    tsq = to_tsquery(query)
    score = func.ts_rank(_message_vector, tsq, 1)
    base = (
        select()
        .select_from(ChatMessage)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(_message_vector.op("@@")(tsq))
    )
    return base, score


async def _run(session: AsyncSession, stmt: Any) -> Any:
    """Execute; an expression the index still rejects is the user's query, hence a 400."""
    try:
        return await session.execute(stmt)
    except (OperationalError, DBAPIError) as exc:
        message = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        if "fts5" in message or "syntax" in message or "tsquery" in message:
            raise InvalidQuery(f"The search index rejected the query: {message}") from exc
        raise


def _unfiltered(filters: Filters) -> bool:
    return filters == Filters()


def _others_exist(account_id: uuid.UUID) -> ColumnElement[bool]:
    """Some chat belongs to another account (two index range seeks on chats.account_id)."""
    other = or_(Chat.account_id < account_id, Chat.account_id > account_id)
    return exists().where(other)


async def fts_alone(session: AsyncSession, account_id: uuid.UUID, filters: Filters) -> bool:
    """SQLite, no filters, and every chat is the account's (the usual single-user library): the
    search can rank on the FTS table alone and join only the page of results."""
    if not _is_sqlite(session) or not _unfiltered(filters):
        return False
    return not await session.scalar(select(_others_exist(account_id)))


def _hit_columns(score: ColumnElement[Any], rowid: ColumnElement[Any]) -> list[Any]:
    return [
        ChatMessage.id,
        ChatMessage.chat_id,
        ChatMessage.role,
        ChatMessage.created_at,
        score.label("score"),
        Chat.title,
        Chat.provider,
        Chat.workspace_id,
        rowid.label("rid"),
    ]


async def message_hits(
    session: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    limit: int,
    offset: int,
    fast: bool = False,
) -> list[MessageHit]:
    """Ranked hits; `fast` (from fts_alone()) ranks on the FTS table alone."""
    sqlite = _is_sqlite(session)
    if fast:
        # FTS5 ranks the page by itself (ORDER BY rank); the join, still scoped to the account,
        # then touches only that page's rows, so a racing write of another account cannot leak.
        page = (
            select(_messages_fts.c.rowid.label("rid"), literal_column("rank").label("rank"))
            .where(text("chat_messages_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
            .order_by(literal_column("rank"))
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        stmt: Select[Any] = (
            select(*_hit_columns(-page.c.rank, page.c.rid))
            .select_from(page)
            .join(ChatMessage, _message_rowid == page.c.rid)
            .join(Chat, Chat.id == ChatMessage.chat_id)
            .where(Chat.account_id == account_id)
            .order_by(page.c.rank, ChatMessage.id)
        )
    else:
        base, score = _message_match(session, query)
        stmt = (
            base.add_columns(*_hit_columns(score, _message_rowid if sqlite else literal(None)))
            .where(*_message_filters(sqlite, account_id, filters))
            .order_by(literal_column("score").desc(), ChatMessage.id)
            .limit(limit)
            .offset(offset)
        )
    rows = (await _run(session, stmt)).all()
    return [
        MessageHit(
            r.id, r.chat_id, r.role, r.created_at, float(r.score), r.title, r.provider, r.workspace_id, r.rid
        )
        for r in rows
    ]


async def count_message_hits(
    session: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, fast: bool = False
) -> int:
    if fast:
        # Counted on the FTS table alone, in the same statement (snapshot) that checks that no
        # other account has chats; NULL when one has meanwhile, and the joined count decides.
        fts_count = (
            select(func.count())
            .select_from(_messages_fts)
            .where(text("chat_messages_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
            .scalar_subquery()
        )
        guarded = select(case((_others_exist(account_id), None), else_=fts_count))
        counted = (await _run(session, guarded)).scalar_one()
        if counted is not None:
            return int(counted)
    base, _ = _message_match(session, query)
    stmt = base.add_columns(func.count()).where(*_message_filters(_is_sqlite(session), account_id, filters))
    return int((await _run(session, stmt)).scalar_one())


async def chat_hits_by_messages(
    session: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    limit: int | None,
    only: list[uuid.UUID] | None = None,
) -> list[ChatHit]:
    """Chats ranked by their best matching message, with that message's id."""
    base, score = _message_match(session, query)
    where = _message_filters(_is_sqlite(session), account_id, filters)
    if only is not None:
        where.append(ChatMessage.chat_id.in_(only))
    if _is_sqlite(session):
        # FTS5 ranks only while it scans: materialise the scores, then group. SQLite takes the bare
        # column (message_id) from the row that holds max(score).
        hits = (
            base.add_columns(
                ChatMessage.chat_id.label("chat_id"), ChatMessage.id.label("message_id"), score.label("score")
            )
            .where(*where)
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        stmt = (
            select(
                hits.c.chat_id,
                func.max(hits.c.score).label("score"),
                func.count().label("n"),
                hits.c.message_id,
            )
            .group_by(hits.c.chat_id)
            .order_by(literal_column("score").desc(), hits.c.chat_id)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = (await _run(session, stmt)).all()
        return [ChatHit(r.chat_id, float(r.score), int(r.n), r.message_id) for r in rows]
    scored = (
        base.add_columns(
            ChatMessage.chat_id.label("chat_id"),
            ChatMessage.id.label("message_id"),
            score.label("score"),
            func.count().over(partition_by=ChatMessage.chat_id).label("n"),
            func.row_number()
            .over(partition_by=ChatMessage.chat_id, order_by=(score.desc(), ChatMessage.id))
            .label("pos"),
        )
        .where(*where)
        .subquery()
    )
    stmt = (
        select(scored.c.chat_id, scored.c.score, scored.c.n, scored.c.message_id)
        .where(scored.c.pos == 1)
        .order_by(scored.c.score.desc(), scored.c.chat_id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await _run(session, stmt)).all()
    return [ChatHit(r.chat_id, float(r.score), int(r.n), r.message_id) for r in rows]


async def title_hits(
    session: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, limit: int
) -> dict[uuid.UUID, float]:
    if _is_sqlite(session):
        score: ColumnElement[Any] = -literal_column("bm25(chats_fts)")
        stmt = (
            select(Chat.id, score.label("score"))
            .select_from(_chats_fts)
            .join(Chat, _chat_rowid == _chats_fts.c.rowid)
            .where(text("chats_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
        )
    else:
        tsq = to_tsquery(query)
        score = func.ts_rank(_title_vector, tsq, 1)
        stmt = select(Chat.id, score.label("score")).where(_title_vector.op("@@")(tsq))
    where = _title_filters(_is_sqlite(session), account_id, filters)
    stmt = stmt.where(*where).order_by(literal_column("score").desc()).limit(limit)
    rows = (await _run(session, stmt)).all()
    return {r.id: float(r.score) for r in rows}


async def message_snippets(
    session: AsyncSession,
    query: Query,
    message_ids: list[uuid.UUID],
    rowids: dict[int, uuid.UUID] | None = None,
) -> dict[uuid.UUID, str]:
    """Highlighted fragments of the given (already matched and authorised) messages. On SQLite,
    `rowids` ({rowid: message id}) saves resolving them."""
    if not message_ids:
        return {}
    if _is_sqlite(session):
        # By rowid, FTS5 looks the few rows up instead of walking every match.
        ids = rowids
        if ids is None:
            rowid_rows = await session.execute(
                select(_message_rowid, ChatMessage.id).where(ChatMessage.id.in_(message_ids))
            )
            ids = {rowid: mid for rowid, mid in rowid_rows.all()}
        snippet: ColumnElement[Any] = literal_column(
            f"snippet(chat_messages_fts, 0, '{MARK_START}', '{MARK_END}', '{ELLIPSIS}', {SNIPPET_WORDS})"
        )
        stmt = (
            select(_messages_fts.c.rowid, snippet.label("snippet"))
            .where(text("chat_messages_fts MATCH :fts_match").bindparams(fts_match=to_fts5(query)))
            .where(_messages_fts.c.rowid.in_(list(ids)))
        )
        rows = (await _run(session, stmt)).all()
        return {ids[r.rowid]: r.snippet or "" for r in rows}
    else:
        tsq = to_tsquery(query)
        stmt = select(
            ChatMessage.id,
            func.ts_headline(_PG_CONFIG, ChatMessage.content, tsq, _PG_HEADLINE).label("snippet"),
        ).where(ChatMessage.id.in_(message_ids))
    rows = (await _run(session, stmt)).all()
    return {r.id: r.snippet or "" for r in rows}


async def title_snippets(
    session: AsyncSession, query: Query, chat_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not chat_ids:
        return {}
    if _is_sqlite(session):
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
            func.ts_headline(_PG_CONFIG, func.coalesce(Chat.title, ""), tsq, options).label("snippet"),
        ).where(Chat.id.in_(chat_ids))
    rows = (await _run(session, stmt)).all()
    return {r.id: r.snippet or "" for r in rows}


async def chats_by_id(
    session: AsyncSession, account_id: uuid.UUID, chat_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Chat]:
    if not chat_ids:
        return {}
    rows = await session.scalars(select(Chat).where(Chat.account_id == account_id, Chat.id.in_(chat_ids)))
    return {c.id: c for c in rows}

"""PostgreSQL search SQL: the stored tsvector (GIN) finds the matches, ts_rank scores at most
PG_CANDIDATES of them (the most recent), ts_headline marks only the page's rows.

Each search is one ranking statement that also returns what the page shows (the messages
themselves and their snippets; the chats' best snippets and highlighted titles), so a page costs
no further round trips. The chats table is read only where it decides something: a provider or
workspace filter, or an account that does not own every chat (`_scope`); a library whose chats
are all the account's own ranks its messages without joining them to their chats.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage
from chasm.search.query import PG_CONFIG, Query, to_tsquery, tsquery_params, tsquery_shape
from chasm.search.types import (
    ELLIPSIS,
    MARK_END,
    MARK_START,
    SNIPPET_WORDS,
    ChatHit,
    Filters,
    MessageHit,
)

# PostgreSQL ranks at most this many matching messages, the most recent (created_at, then id);
# a query with fewer matches is ranked over all of them. ts_rank reads each candidate's whole
# vector, so ranking every match of a common word (50k at 1M messages) cost ~200 ms.
PG_CANDIDATES = 1000
# The bitmap reads every match where it lies in the table, pages the newest-first walk (which
# every common word repeats) keeps cached: beyond this many matches it lost at 1M messages
# (`layout`, 41k matches: 300 ms against the walk's 90); 16k kept 1M as it was and sent 61k's
# `hoge` (11.8k matches in old messages: the walk read 35k rows) to the bitmap.
BITMAP_MAX = 16 * PG_CANDIDATES
# Beyond this many times the cap (estimated), the bitmap's matches are sorted by time without
# their vectors (~260 bytes each at 61k, copied into the sort with every match: the top-N sort took
# ~8 of 24 ms for `let`'s 8k matches), and the newest cap of them fetched again by ctid. Between
# one and ~2.5 times the cap both cost the same; below, the second read costs more than it saves
# (`assume`, 809 matches: 4.7 -> 5.4 ms). One, not more: a prefix's estimate can be far under
# its matches (`bivi*` at 1M: 1,634 for 12.9k, whose wide sort took 12 ms).
NARROW_SORT = 1

_message_vector: ColumnElement[Any] = literal_column("chat_messages.search_vector")
_title_vector: ColumnElement[Any] = literal_column("chats.title_vector")
# Migration 0014: the configuration and the text function that tokenise as SQLite's index does.
_PG_CONFIG: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
# ShortWord=0: no word is dropped from a fragment's ends for being short, as in FTS5's snippets
# (PostgreSQL's default of three trimmed a fragment of CJK characters, one-letter words each, to
# the match alone).
HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=8, ShortWord=0, "
    f'MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)
TITLE_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"


def message_headline(query: Query, bound: bool = True) -> ColumnElement[Any]:
    """The snippet of a message (of the ChatMessage in the statement): cut from the content, then
    the tool text, with CJK characters set apart as in the index (migration 0020; the service
    takes the separators out again)."""
    text = func.chasm_cjk(func.concat_ws("\n", ChatMessage.content, ChatMessage.tool_text))
    return func.ts_headline(_PG_CONFIG, text, to_tsquery(query, bound=bound), HEADLINE)


def title_headline(query: Query, bound: bool = True) -> ColumnElement[Any]:
    title = func.chasm_cjk(func.coalesce(Chat.title, ""))
    return func.ts_headline(_PG_CONFIG, title, to_tsquery(query, bound=bound), TITLE_HEADLINE)


# Built statements by what their SQL depends on (the query's shape, the filters, the page): a
# search builds none of its statements again, and SQLAlchemy finds each one's compiled form by
# the cache key the statement keeps (building and keying a ranking statement cost ~1.5 ms, more
# than ranking a rare word). The words and the account are parameters, bound at each execution.
_STATEMENTS: OrderedDict[Hashable, Any] = OrderedDict()
STATEMENTS_KEPT = 512


_STATEMENTS_LOCK = threading.Lock()  # one event loop each, but several loops may share the module


def _kept(key: Hashable, build: Callable[[], Any]) -> Any:
    with _STATEMENTS_LOCK:
        stmt = _STATEMENTS.get(key)
        if stmt is not None:
            _STATEMENTS.move_to_end(key)
            return stmt
    stmt = build()
    with _STATEMENTS_LOCK:
        _STATEMENTS[key] = stmt
        if len(_STATEMENTS) > STATEMENTS_KEPT:
            _STATEMENTS.popitem(last=False)
    return stmt


def _account() -> BindParameter[Any]:
    """The searching account: a parameter every execution binds (`_params`)."""
    return bindparam("account_id", required=True)


def _params(query: Query, account_id: uuid.UUID) -> dict[str, Any]:
    return {**tsquery_params(query), "account_id": account_id}


async def _facts(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, estimate: bool = True
) -> tuple[bool, bool, bool]:
    """One statement: whether no other account has chats (two index probes: then every message is
    the account's and ranking needs no join to the chats), and how to read the candidates
    (`_reading`: the bitmap or the walk, sorted narrow or not). Also sets the planner for the rest
    of the transaction (the search's): no sequential scans, as it prices a tsvector match at one
    operator and would read a whole table where the GIN index reads the few thousand rows that
    match (150 ms against 35 ms at 61k messages); custom plans only. Not `estimate`, or with
    filters: the planner reads as it chooses."""
    estimate = estimate and filters == Filters()
    shape = tsquery_shape(query) if estimate else None
    stmt = _kept(("facts", shape), lambda: _facts_statement(query if estimate else None))
    row = (await db.execute(stmt, _params(query, account_id))).one()
    sole = not bool(row[2])
    if not estimate or not sole:
        return sole, False, False
    return (sole, *_reading(float(row[4]), float(row[3] or 0)))


def _facts_statement(query: Query | None) -> Select[Any]:
    other = or_(
        exists().where(Chat.account_id < _account()),
        exists().where(Chat.account_id > _account()),
    )
    messages = (
        select(literal_column("reltuples"))
        .select_from(text("pg_class"))
        .where(text("oid = 'chat_messages'::regclass"))
        .scalar_subquery()
    )
    settings = (
        func.set_config("enable_seqscan", "off", True),
        # Each word gets its own plan: a prepared statement's generic plan would pick the walk or
        # the bitmap once for every word.
        func.set_config("plan_cache_mode", "force_custom_plan", True),
    )
    if query is None:
        return select(*settings, other, messages)
    # Migration 0023: the planner's estimate of the matches, from an EXPLAIN of their scan.
    matches = func.chasm_match_estimate(to_tsquery(query, bound=False))
    return select(*settings, other, messages, matches)


def _reading(matches: float, messages: float) -> tuple[bool, bool]:
    """Whether to read every match through the GIN index rather than walk the messages newest
    first, and whether to sort the matches without their vectors (`_candidates`). The walk reads
    cap x messages / matches rows if the matches are spread evenly, far more when they are not (in
    older chats, on shared timestamps, an exclusion that removes most); the bitmap reads each match
    once. The planner's estimate of the matches decides: the bitmap below sqrt(4 x cap x messages)
    of them and BITMAP_MAX; beyond NARROW_SORT x cap of them, sorted narrow. Only without filters
    (their selectivity is the planner's guess) in a library the account owns alone."""
    bitmap = matches < min((4 * PG_CANDIDATES * max(messages, 1.0)) ** 0.5, BITMAP_MAX)
    return bitmap, bitmap and matches > NARROW_SORT * PG_CANDIDATES


def _chat_clauses(filters: Filters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Chat.account_id == _account()]
    if filters.provider:
        clauses.append(Chat.provider.in_(filters.provider))
    if filters.workspace_id:
        clauses.append(Chat.workspace_id == filters.workspace_id)
    return clauses


def _scope(filters: Filters, sole: bool) -> list[ColumnElement[bool]]:
    """The messages' chat conditions: none when the account owns every chat and no chat filter is
    set; else the chat among the account's (filtered) chats."""
    if sole and not filters.provider and not filters.workspace_id:
        return []
    chats = select(Chat.id).where(*_chat_clauses(filters))
    return [ChatMessage.chat_id.in_(chats)]


def _matching(query: Query, filters: Filters, sole: bool) -> Select[Any]:
    """FROM/WHERE of the account's matching messages under the filters. The vector holds the
    content (weight A) and the tool text (weight D, ranked at 0.1 of it); with `tools` "exclude"
    or "only" the index finds the candidates and one part is checked again."""
    tsq = to_tsquery(query, bound=False)
    clauses = [_message_vector.op("@@")(tsq), *_scope(filters, sole)]
    if filters.tools != "include":
        part = ChatMessage.tool_text if filters.tools == "only" else ChatMessage.content
        clauses.append(func.to_tsvector(_PG_CONFIG, func.chasm_fts_text(part)).op("@@")(tsq))
    if filters.role:
        clauses.append(ChatMessage.role == filters.role)
    if filters.since:
        clauses.append(ChatMessage.created_at >= filters.since)
    if filters.until:
        clauses.append(ChatMessage.created_at < filters.until)
    return select().select_from(ChatMessage).where(*clauses)


def _candidates(
    query: Query,
    filters: Filters,
    sole: bool,
    cap: int,
    bitmap: bool = False,
    narrow: bool = False,
) -> Any:
    """The `cap` most recent matching messages (only these are ranked), with their vector. With
    `bitmap` the same order is spelt so that no index gives it: the planner cannot walk. With
    `narrow` the matches are sorted by (created_at, id, ctid) alone, and the newest `cap` rows'
    vectors read again by their ctid (a TID scan each, in the same snapshot)."""
    newest: list[ColumnElement[Any]] = [ChatMessage.created_at.desc(), ChatMessage.id.desc()]
    if bitmap:  # NULLs first, as PostgreSQL's DESC puts them
        newest.insert(0, ChatMessage.created_at.is_(None).desc())
    matching = _matching(query, filters, sole)
    if not narrow:
        return (
            matching.add_columns(
                ChatMessage.id.label("id"),
                ChatMessage.chat_id.label("chat_id"),
                _message_vector.label("vector"),
            )
            .order_by(*newest)
            .limit(cap)
            .subquery("candidates")
        )
    rows = (
        matching.add_columns(
            ChatMessage.id.label("id"),
            ChatMessage.chat_id.label("chat_id"),
            literal_column("chat_messages.ctid").label("row"),
        )
        .order_by(*newest)
        .limit(cap)
        .subquery("newest")
    )
    stored = ChatMessage.__table__.alias("stored")
    return (
        select(rows.c.id, rows.c.chat_id, literal_column("stored.search_vector").label("vector"))
        .select_from(rows.join(stored, literal_column("stored.ctid") == rows.c.row))
        .subquery("candidates")
    )


async def message_hits(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, limit: int, offset: int
) -> tuple[list[MessageHit], int, int]:
    """The page (each hit with its message and snippet), how many candidates were ranked, and
    their cap (fewer: every match was ranked)."""
    cap = max(PG_CANDIDATES, offset + limit)
    sole, bitmap, narrow = await _facts(db, account_id, query, filters)
    key = ("hits", tsquery_shape(query), filters, sole, bitmap, narrow, cap, limit, offset)
    stmt = _kept(key, lambda: _hits_statement(query, filters, sole, bitmap, narrow, cap, limit, offset))
    rows = (await db.execute(stmt, _params(query, account_id))).all()
    hits = [
        MessageHit(
            r.ChatMessage.id,
            r.ChatMessage.chat_id,
            r.ChatMessage.role,
            r.ChatMessage.created_at,
            float(r.score),
            r.title,
            r.provider,
            r.workspace_id,
            None,
            r.snippet or "",
            message=r.ChatMessage,
        )
        for r in rows
    ]
    return hits, (int(rows[0].candidates) if rows else 0), cap


def _hits_statement(
    query: Query, filters: Filters, sole: bool, bitmap: bool, narrow: bool, cap: int, limit: int, offset: int
) -> Select[Any]:
    cand = _candidates(query, filters, sole, cap, bitmap, narrow)
    score = func.ts_rank(cand.c.vector, to_tsquery(query, bound=False), 1)
    page = (
        select(
            cand.c.id,
            cand.c.chat_id,
            score.label("score"),
            func.count().over().label("candidates"),
        )
        .order_by(score.desc(), cand.c.id)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    return (
        select(
            ChatMessage,
            page.c.score,
            page.c.candidates,
            Chat.title,
            Chat.provider,
            Chat.workspace_id,
            message_headline(query, bound=False).label("snippet"),
        )
        .select_from(page)
        .join(ChatMessage, ChatMessage.id == page.c.id)
        # The account again: a chat another account stored since `_facts` looked stays out.
        .join(Chat, (Chat.id == page.c.chat_id) & (Chat.account_id == _account()))
        .order_by(page.c.score.desc(), page.c.id)
    )


async def count_message_hits(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, cap: int
) -> tuple[int, bool]:
    sole, _, _ = await _facts(db, account_id, query, filters, estimate=False)

    def build() -> Select[Any]:
        matching = _matching(query, filters, sole).add_columns(literal_column("1"))
        return select(func.count()).select_from(matching.limit(cap).subquery())

    capped = _kept(("count", tsquery_shape(query), filters, sole, cap), build)
    counted = int((await db.execute(capped, _params(query, account_id))).scalar_one())
    return counted, counted < cap


def _title_clauses(filters: Filters) -> list[ColumnElement[bool]]:
    clauses = _chat_clauses(filters)
    if filters.since:
        clauses.append(Chat.updated_at >= filters.since)
    if filters.until:
        clauses.append(func.coalesce(Chat.started_at, Chat.created_at) < filters.until)
    return clauses


async def rank_chats(
    db: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    window: int,
    title_weight: float,
) -> list[ChatHit]:
    """One statement: every matching chat's best message among the candidates, full-outer-joined
    to every matching title, ranked by the combined score; the listed chats' best snippets and
    highlighted titles with them."""
    sole, bitmap, narrow = await _facts(db, account_id, query, filters)
    key = ("chats", tsquery_shape(query), filters, sole, bitmap, narrow, window, title_weight)
    stmt = _kept(key, lambda: _chats_statement(query, filters, sole, bitmap, narrow, window, title_weight))
    params = _params(query, account_id)
    rows = (await db.execute(stmt, params)).all()
    counts = {r.chat_id: int(r.n) for r in rows}
    if any((r.candidates or 0) >= PG_CANDIDATES for r in rows):
        # Candidates were capped: count each listed chat's matches in full, as SQLite does.
        counted = (
            _matching(query, filters, sole)
            .add_columns(ChatMessage.chat_id, func.count())
            .where(ChatMessage.chat_id.in_(list(counts)))
            .group_by(ChatMessage.chat_id)
        )
        counts.update({cid: int(n) for cid, n in (await db.execute(counted, params)).all()})
    return [
        ChatHit(
            r.chat_id,
            float(r.combined),
            counts[r.chat_id],
            r.message_id,
            None,
            title_match=bool(r.title_match),
            snippet=(r.snippet or "") if r.message_id is not None else None,
            title_snippet=(r.title_snippet or "") if r.title_match else None,
        )
        for r in rows
    ]


def _chats_statement(
    query: Query, filters: Filters, sole: bool, bitmap: bool, narrow: bool, window: int, title_weight: float
) -> Select[Any]:
    cand = _candidates(query, filters, sole, PG_CANDIDATES, bitmap, narrow)
    tsq = to_tsquery(query, bound=False)
    score = func.ts_rank(cand.c.vector, tsq, 1)
    scored = select(
        cand.c.chat_id,
        cand.c.id.label("message_id"),
        score.label("score"),
        func.count().over(partition_by=cand.c.chat_id).label("n"),
        func.count().over().label("candidates"),
        func.row_number().over(partition_by=cand.c.chat_id, order_by=(score.desc(), cand.c.id)).label("pos"),
    ).subquery("scored")
    best = (
        select(scored.c.chat_id, scored.c.score, scored.c.n, scored.c.message_id, scored.c.candidates)
        .where(scored.c.pos == 1)
        .subquery("best")
    )
    title_match: ColumnElement[Any] = _title_vector.op("@@")(tsq)
    if filters.role or filters.tools == "only":
        title_match = literal_column("false")  # a role filter or tool calls alone: messages only
    titles = (
        select(Chat.id.label("chat_id"), func.ts_rank(_title_vector, tsq, 1).label("score"))
        .where(title_match, *_title_clauses(filters))
        .subquery("titles")
    )
    chat_id = func.coalesce(best.c.chat_id, titles.c.chat_id)
    combined = func.coalesce(best.c.score, 0.0) + title_weight * func.coalesce(titles.c.score, 0.0)
    ranked = (
        select(
            chat_id.label("chat_id"),
            combined.label("combined"),
            func.coalesce(best.c.n, 0).label("n"),
            best.c.message_id,
            titles.c.chat_id.is_not(None).label("title_match"),
            best.c.candidates,
        )
        .select_from(best.join(titles, best.c.chat_id == titles.c.chat_id, full=True))
        .order_by(combined.desc(), chat_id)
        .limit(window)
        .subquery("ranked")
    )
    # The snippets of the listed chats only: ts_headline reads a message's whole text.
    return (
        select(
            ranked,
            message_headline(query, bound=False).label("snippet"),
            case((ranked.c.title_match, title_headline(query, bound=False))).label("title_snippet"),
        )
        .select_from(ranked)
        .outerjoin(ChatMessage, ChatMessage.id == ranked.c.message_id)
        .join(Chat, (Chat.id == ranked.c.chat_id) & (Chat.account_id == _account()))
        .order_by(ranked.c.combined.desc(), ranked.c.chat_id)
    )

"""SQLite search SQL, chats: rank chats by their title and their best messages on the FTS5
indexes (the shared clauses and the message pages are in fts5.py; bounds are read from it at call
time, so they can be tuned in one place)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import ChatMessage
from chasm.search import fts5 as base
from chasm.search.query import Query
from chasm.search.types import ChatHit, Filters

# Titles: every match the filters keep (one title per chat: few rows), the best base.MAX_TITLE_CHATS
# scored on their messages too. Messages: the best `candidates` (index only), the best `window`
# chats among them (joined, filtered): their best message is a candidate, so their message score is
# exact. Then every match of those chats and of the best titled ones: exact scores and match counts.
# Rows: kind 't' (a title: chat_id, bm), kind 'c' (a chat: chat_id, bm, n, rid, best_id), and one
# kind 'c' row carrying the bounds (`meta`) even when no chat matched.
_CHATS_SQL = """
WITH titles AS MATERIALIZED (
    SELECT c.id AS chat_id, bm25(chats_fts) AS bm FROM chats_fts JOIN chats c ON c.rowid = chats_fts.rowid
    WHERE chats_fts MATCH :fts_match AND {title_where}),
{ranked}
top_chats AS MATERIALIZED (
    SELECT m.chat_id AS chat_id, min(top.bm) AS bm FROM top
    JOIN chat_messages m ON m.rowid = top.rid JOIN chats c ON c.id = m.chat_id
    WHERE {where} GROUP BY m.chat_id ORDER BY min(top.bm), m.chat_id LIMIT :window),
wanted(chat_id) AS (
    SELECT chat_id FROM top_chats
    UNION SELECT chat_id FROM (SELECT chat_id FROM titles ORDER BY bm, chat_id LIMIT :max_titles)),
wanted_rows AS MATERIALIZED (
    SELECT w.rowid AS rid FROM chat_messages w WHERE w.chat_id IN (SELECT chat_id FROM wanted)),
wanted_matches AS MATERIALIZED ({wanted_matches}),
hits AS (
    SELECT m.chat_id AS chat_id, f.rid AS rid, f.bm AS bm FROM wanted_matches AS f
    JOIN chat_messages m ON m.rowid = f.rid WHERE {message_where}),
grouped AS (SELECT chat_id, min(bm) AS bm, rid, count(*) AS n FROM hits GROUP BY chat_id),
meta AS (
    SELECT (SELECT count(*) FROM top) AS n_top, (SELECT max(bm) FROM top) AS top_worst,
           (SELECT count(*) FROM top_chats) AS n_top_chats,
           (SELECT max(bm) FROM top_chats) AS top_chats_worst,
           (SELECT chat_id FROM top_chats ORDER BY bm DESC, chat_id DESC LIMIT 1) AS top_chats_last)
SELECT 'c' AS kind, meta.n_top, meta.top_worst, meta.n_top_chats, meta.top_chats_worst, meta.top_chats_last,
       g.chat_id AS chat_id, g.bm AS bm, g.n AS n, g.rid AS rid, best.id AS best_id
FROM meta LEFT JOIN grouped g ON 1 LEFT JOIN chat_messages best ON best.rowid = g.rid
UNION ALL
SELECT 't', NULL, NULL, NULL, NULL, NULL, chat_id, bm, NULL, NULL, NULL FROM titles
"""

# Every match scored once and kept (`ranked`), or, for one word whose matches are cheap to walk
# again, the best candidates sorted on the fly and the wanted chats' matches scored in a second walk.
_RANKED = {
    True: f"""top AS MATERIALIZED (
    SELECT rowid AS rid, {base.BM25} AS bm FROM chat_messages_fts
    WHERE chat_messages_fts MATCH :fts_match ORDER BY bm, rid LIMIT :candidates),""",
    False: f"""ranked AS MATERIALIZED (
    SELECT rowid AS rid, {base.BM25} AS bm FROM chat_messages_fts
    WHERE chat_messages_fts MATCH :fts_match),
top AS MATERIALIZED (SELECT rid, bm FROM ranked ORDER BY bm, rid LIMIT :candidates),""",
}
_WANTED_MATCHES = {
    True: f"""SELECT rowid AS rid, {base.BM25} AS bm FROM chat_messages_fts
    WHERE chat_messages_fts MATCH :fts_match AND +rowid IN (SELECT rid FROM wanted_rows)""",
    False: "SELECT rid, bm FROM ranked WHERE +rid IN (SELECT rid FROM wanted_rows)",
}

_ALL_CHATS_SQL = f"""
WITH ranked AS MATERIALIZED (
    SELECT rowid AS rid, {base.BM25} AS bm FROM chat_messages_fts
    WHERE chat_messages_fts MATCH :fts_match),
grouped AS (
    SELECT m.chat_id AS chat_id, min(ranked.bm) AS bm, ranked.rid AS rid, count(*) AS n FROM ranked
    JOIN chat_messages m ON m.rowid = ranked.rid JOIN chats c ON c.id = m.chat_id
    WHERE {{where}} GROUP BY m.chat_id)
SELECT g.chat_id AS chat_id, g.bm AS bm, g.n AS n, g.rid AS rid, best.id AS best_id
FROM grouped g JOIN chat_messages best ON best.rowid = g.rid
"""


@dataclass
class _Ranking:
    hits: dict[uuid.UUID, ChatHit]  # chats with every passing match counted: exact message scores
    titles: dict[uuid.UUID, float]  # every title match the filters keep
    last_top_chat: tuple[float, uuid.UUID] | None  # the window-th chat by message score, if the window filled
    last_candidate: float | None  # the score of the last candidate message, if the candidates were capped


async def rank_chats(
    db: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    window: int,
    title_weight: float,
) -> list[ChatHit]:
    """The best `window` chats by best message score plus title_weight x title score, exactly."""
    filtered = filters != Filters()
    candidates = max(
        base.MIN_CANDIDATES, (base.FILTERED_CHAT_OVERFETCH if filtered else base.CHAT_OVERFETCH) * window
    )
    max_titles = max(window, base.MAX_TITLE_CHATS)
    titles: dict[uuid.UUID, float] = {}
    for widen in (1, 8):
        cap = candidates * widen
        ranking = await _rank_candidates(db, account_id, query, filters, window, cap, max_titles * widen)
        titles = ranking.titles
        by_title = sorted(titles, key=lambda cid: (-titles[cid], cid.hex))
        extra = by_title[: max_titles * widen]
        # `hits` holds every match of its chats and `extra` the best titles: both exactly scored.
        ranked = _combine(ranking.hits, titles, title_weight, [c for c in extra if c not in ranking.hits])
        known = ranking.hits.keys() | set(extra)
        outside = [titles[cid] for cid in by_title if cid not in known]
        if _settled(ranked, ranking, window, title_weight, max(outside) if outside else None):
            return ranked[:window]
    hits = await _all_chats(db, account_id, query, filters)
    return _combine(hits, titles, title_weight, [c for c in titles if c not in hits])[:window]


def _settled(
    ranked: list[ChatHit], ranking: _Ranking, window: int, title_weight: float, outside_title: float | None
) -> bool:
    """Whether no chat outside `ranked` can enter its first `window`. Such a chat scores at most the
    bound of its message (the window-th chat's, else the last candidate's, else it has no passing
    match) plus title_weight x the best title left outside (None: no title left outside)."""
    title_room = title_weight * outside_title if outside_title is not None else 0.0
    if ranking.last_top_chat is not None:
        message_bound: float | None = ranking.last_top_chat[0]
    else:
        message_bound = ranking.last_candidate
    if message_bound is None and outside_title is None:
        return True  # every matching chat is in `ranked`
    if len(ranked) < window:
        return False
    last = ranked[window - 1]
    if message_bound is None:
        return last.score > title_room  # only chats matching by title alone are left
    if (
        outside_title is None
        and ranking.last_top_chat is not None
        and (ranking.last_candidate is None or ranking.last_candidate < message_bound)
    ):
        # Without title points, a chat left out comes after the window-th chat by message score,
        # ties broken by id as in the ranking.
        score, chat_id = ranking.last_top_chat
        return (-last.score, last.chat_id.hex) <= (-score, chat_id.hex)
    return last.score > message_bound + title_room


def _combine(
    hits: dict[uuid.UUID, ChatHit], titles: dict[uuid.UUID, float], weight: float, title_only: list[uuid.UUID]
) -> list[ChatHit]:
    """Chats by message score plus weight x title score; `title_only`: matched by title alone."""
    combined = [
        ChatHit(
            h.chat_id,
            h.score + weight * titles.get(h.chat_id, 0.0),
            h.match_count,
            h.best_message_id,
            h.best_rowid,
            title_match=h.chat_id in titles,
        )
        for h in hits.values()
    ]
    combined += [ChatHit(cid, weight * titles[cid], 0, None, None, title_match=True) for cid in title_only]
    combined.sort(key=lambda h: (-h.score, h.chat_id.hex))
    return combined


async def _rank_candidates(
    db: AsyncSession,
    account_id: uuid.UUID,
    query: Query,
    filters: Filters,
    window: int,
    candidates: int,
    max_titles: int,
) -> _Ranking:
    single = base._single_term(query)
    sql = _CHATS_SQL.format(
        ranked=_RANKED[single],
        wanted_matches=_WANTED_MATCHES[single],
        where=base._where(base._chat_clauses(filters) + base._message_clauses(filters)),
        message_where=base._where(base._message_clauses(filters)),
        # A role or tool calls alone: messages only.
        title_where="0"
        if filters.role or filters.tools == "only"
        else base._where(base._title_clauses(filters)),
    )
    stmt = base._statement(
        sql, query, account_id, filters, candidates=candidates, window=window, max_titles=max_titles
    )
    rows = (await db.execute(stmt)).all()
    hits: dict[uuid.UUID, ChatHit] = {}
    titles: dict[uuid.UUID, float] = {}
    meta: Any = None
    for r in rows:
        if r.kind == "t":
            titles[base._uuid(r.chat_id)] = -float(r.bm)
            continue
        meta = r
        if r.chat_id is not None:
            cid = base._uuid(r.chat_id)
            hits[cid] = ChatHit(cid, -float(r.bm), int(r.n), base._uuid(r.best_id), r.rid)
    last_top_chat = None
    if meta.n_top_chats >= window:
        last_top_chat = (-float(meta.top_chats_worst), base._uuid(meta.top_chats_last))
    last_candidate = -float(meta.top_worst) if meta.n_top >= candidates else None
    return _Ranking(hits, titles, last_top_chat, last_candidate)


async def _all_chats(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters
) -> dict[uuid.UUID, ChatHit]:
    sql = _ALL_CHATS_SQL.format(
        where=base._where(base._chat_clauses(filters) + base._message_clauses(filters))
    )
    stmt = base._statement(sql, query, account_id, filters).columns(
        chat_id=ChatMessage.chat_id.type, best_id=ChatMessage.id.type
    )
    rows = (await db.execute(stmt)).all()
    return {r.chat_id: ChatHit(r.chat_id, -float(r.bm), int(r.n), r.best_id, r.rid) for r in rows}

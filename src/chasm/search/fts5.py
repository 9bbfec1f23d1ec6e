"""SQLite search SQL: rank on the FTS5 index alone, then join and filter only the rows a page needs.

bm25() has to score every match (FTS5 has no top-k shortcut), but that is all it costs: the rows
behind a match (message, chat, filters) are looked up only for the best candidates. A page read from
a capped candidate list is kept only when it is provably the exact page; otherwise the statement
runs again over every match, so results never depend on the cap. Rows tie-break on the index rowid.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage
from chasm.search.query import Query, is_phrase, to_fts5
from chasm.search.types import (
    ELLIPSIS,
    MARK_END,
    MARK_START,
    SNIPPET_WORDS,
    TOOL_WEIGHT,
    Filters,
    MessageHit,
    MessagePage,
)

# A page drawn from the best OVERFETCH x (offset + limit) matches, at least MIN_CANDIDATES, is
# exact whenever the filters keep enough of them; else a second statement reads every match.
OVERFETCH = 8
MIN_CANDIDATES = 100
# Chats: candidate messages per wanted chat (several of the best messages often share a chat).
CHAT_OVERFETCH = 5
FILTERED_CHAT_OVERFETCH = 40
TOTAL_CAP = 1000  # matches counted through the join (filters, shared library): "1000 or more"
# Title-matched chats whose messages are scored exactly beside the best candidates; a title match
# left outside has to be outscored by the window-th chat for the ranking to settle.
MAX_TITLE_CHATS = 200

_DATETIME = ChatMessage.created_at.type
_SCOPE_SQL = (
    "EXISTS (SELECT 1 FROM chats WHERE chats.account_id < :account_id OR chats.account_id > :account_id)"
)


def _chat_clauses(filters: Filters) -> list[str]:
    # `+` keeps the planner from driving a statement by these columns' indexes: the match leads.
    clauses = ["+c.account_id = :account_id"]
    if filters.provider:
        names = ", ".join(f":provider_{i}" for i in range(len(filters.provider)))
        clauses.append(f"+c.provider IN ({names})")
    if filters.workspace_id:
        clauses.append("+c.workspace_id = :workspace_id")
    return clauses


def _message_clauses(filters: Filters) -> list[str]:
    clauses = []
    if filters.role:
        clauses.append("+m.role = :role")
    if filters.since:
        clauses.append("+m.created_at >= :since")
    if filters.until:
        clauses.append("+m.created_at < :until")
    return clauses


def _title_clauses(filters: Filters) -> list[str]:
    clauses = _chat_clauses(filters)
    if filters.since:
        clauses.append("+c.updated_at >= :since")
    if filters.until:
        clauses.append("coalesce(c.started_at, c.created_at) < :until")
    return clauses


def _statement(sql: str, query: Query, account_id: uuid.UUID, filters: Filters, **values: Any) -> TextClause:
    params: dict[str, Any] = {
        "fts_match": to_fts5(query, filters.tools),
        "account_id": account_id.hex,
        **values,
    }
    binds = []
    for i, name in enumerate(filters.provider or ()):
        params[f"provider_{i}"] = name
    if filters.workspace_id:
        params["workspace_id"] = filters.workspace_id.hex
    if filters.role:
        params["role"] = filters.role
    for name in ("since", "until"):
        if getattr(filters, name) is not None and f":{name}" in sql:
            binds.append(bindparam(name, getattr(filters, name), type_=_DATETIME))
    params = {k: v for k, v in params.items() if f":{k}" in sql}
    return text(sql).bindparams(*binds, **params)


def _where(clauses: list[str]) -> str:
    return " AND ".join(clauses) if clauses else "1"


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


# Prose first: a match in the tool text (column 2) weighs TOOL_WEIGHT of one in the content.
BM25 = f"bm25(chat_messages_fts, 1.0, {TOOL_WEIGHT})"
# The snippet of whichever column matched best (-1).
SNIPPET_SQL = f"snippet(chat_messages_fts, -1, '{MARK_START}', '{MARK_END}', '{ELLIPSIS}', {SNIPPET_WORDS})"
_MATCHES = (
    f"SELECT rowid AS rid, {BM25} AS bm FROM chat_messages_fts WHERE chat_messages_fts MATCH :fts_match"
)
_FTS_COUNT = "(SELECT count(*) FROM chat_messages_fts WHERE chat_messages_fts MATCH :fts_match)"


def _single_term(query: Query) -> bool:
    """One word (or prefix): counting its matches walks one doclist, no cheaper way exists. A
    phrase, AND, OR or NOT is evaluated afresh by each count, so those are counted off the scored
    matches instead."""
    return len(query.terms) == 1 and not is_phrase(query.terms[0])


def _page_sql(query: Query, filters: Filters) -> str:
    """The best `candidates` matches on the index alone; then the page among them that the filters
    keep; then snippets of that page only (FTS5 looks each row up by rowid). `alone_total`: the
    count of matches when no row can be filtered out (no filters, one account); `capped_total`:
    the matches the filters keep, counted through the join up to :cap, otherwise."""
    where = _where(_chat_clauses(filters) + _message_clauses(filters))
    if _single_term(query):
        ctes = f"page AS MATERIALIZED ({_MATCHES} ORDER BY bm, rid LIMIT :candidates)"
        matched, counted = (
            "(SELECT rowid AS rid FROM chat_messages_fts WHERE chat_messages_fts MATCH :fts_match)",
            _FTS_COUNT,
        )
    else:
        ctes = (
            f"ranked AS MATERIALIZED ({_MATCHES}),"
            " page AS MATERIALIZED (SELECT rid, bm FROM ranked ORDER BY bm, rid LIMIT :candidates)"
        )
        matched, counted = "ranked", "(SELECT count(*) FROM ranked)"
    capped = (
        f"(SELECT count(*) FROM (SELECT 1 FROM {matched} AS f JOIN chat_messages m ON m.rowid = f.rid"
        f" JOIN chats c ON c.id = m.chat_id WHERE {where} LIMIT :cap))"
    )
    alone = f"CASE WHEN {_SCOPE_SQL} THEN NULL ELSE {counted} END" if filters == Filters() else "NULL"
    return f"""
WITH {ctes},
hits AS MATERIALIZED (
    SELECT m.id AS id, m.chat_id AS chat_id, m.role AS role, m.created_at AS created_at, page.bm AS bm,
           c.title AS title, c.provider AS provider, c.workspace_id AS workspace_id, page.rid AS rid
    FROM page JOIN chat_messages m ON m.rowid = page.rid JOIN chats c ON c.id = m.chat_id
    WHERE {where} ORDER BY page.bm, page.rid LIMIT :limit OFFSET :offset),
totals AS MATERIALIZED (SELECT {alone} AS alone_total),
capped AS MATERIALIZED (
    SELECT CASE WHEN (SELECT alone_total FROM totals) IS NULL THEN {capped} END AS capped_total)
SELECT hits.id, hits.chat_id, hits.role, hits.created_at, hits.bm, hits.title, hits.provider,
       hits.workspace_id, hits.rid, {SNIPPET_SQL} AS snippet, (SELECT count(*) FROM page) AS n_candidates,
       (SELECT alone_total FROM totals) AS alone_total, (SELECT capped_total FROM capped) AS capped_total
FROM {_snippet_rows(query, "(SELECT rid FROM hits)")}
ORDER BY hits.bm, hits.rid
"""


def snippets_sql(query: Query, rowids: list[int]) -> str:
    """SELECT of (rowid, snippet) for the given index rows, which match the query."""
    listed = ", ".join(str(int(r)) for r in rowids)
    where = f"chat_messages_fts MATCH :fts_match AND rowid IN ({listed})"
    if any(t.prefix for t in query.terms):  # see _snippet_rows()
        where = (
            f"chat_messages_fts MATCH :fts_match AND rowid >= {min(rowids)} AND rowid <= {max(rowids)}"
            f" AND +rowid IN ({listed})"
        )
    return f"SELECT rowid AS k, {SNIPPET_SQL} AS snippet FROM chat_messages_fts WHERE {where}"


def _snippet_rows(query: Query, rowids: str) -> str:
    """FROM/WHERE joining `hits` to the index rows (`rowids`) that snippet() reads. FTS5 looks a
    rowid up by running the query afresh; a prefix query then merges the doclists of every word
    with that prefix each time, so one range scan over the matches does fewer lookups."""
    if not any(t.prefix for t in query.terms):
        return (
            "hits JOIN chat_messages_fts ON chat_messages_fts.rowid = hits.rid"
            " WHERE chat_messages_fts MATCH :fts_match"
        )
    return (
        "chat_messages_fts CROSS JOIN hits ON hits.rid = chat_messages_fts.rowid"
        " WHERE chat_messages_fts MATCH :fts_match"
        f" AND chat_messages_fts.rowid >= (SELECT min(rid) FROM {rowids} AS r)"
        f" AND chat_messages_fts.rowid <= (SELECT max(rid) FROM {rowids} AS r)"
        f" AND +chat_messages_fts.rowid IN {rowids}"
    )


async def message_page(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, limit: int, offset: int
) -> MessagePage:
    """The ranked page with snippets, and the number of matches (exact below TOTAL_CAP)."""
    sql = _page_sql(query, filters)
    wanted = offset + limit
    # Unfiltered, the first `wanted` matches are the page unless another account owns some of them.
    caps = [wanted] if filters == Filters() else []
    caps += [max(MIN_CANDIDATES, OVERFETCH * wanted), -1]
    for cap in caps:
        stmt = _statement(
            sql, query, account_id, filters, candidates=cap, limit=limit, offset=offset, cap=TOTAL_CAP
        )
        typed = stmt.columns(
            id=ChatMessage.id.type,
            chat_id=ChatMessage.chat_id.type,
            workspace_id=Chat.id.type,
            created_at=_DATETIME,
        )
        rows = list((await db.execute(typed)).all())
        # Short of a full page, the page is final only if every match was a candidate.
        if len(rows) == limit or cap < 0 or (rows and rows[0].n_candidates < cap):
            break
    hits = [
        MessageHit(
            r.id,
            r.chat_id,
            r.role,
            r.created_at,
            -float(r.bm),
            r.title,
            r.provider,
            r.workspace_id,
            r.rid,
            r.snippet or "",
        )
        for r in rows
    ]
    if 0 < len(hits) < limit or (offset == 0 and not hits):
        return MessagePage(hits, offset + len(hits), True)  # the last page: every match is known
    if rows and rows[0].alone_total is not None:
        return MessagePage(hits, int(rows[0].alone_total), True)
    if rows:
        return MessagePage(hits, int(rows[0].capped_total), int(rows[0].capped_total) < TOTAL_CAP)
    return await _count(db, account_id, query, filters, hits)  # a page past the end


async def _count(
    db: AsyncSession, account_id: uuid.UUID, query: Query, filters: Filters, hits: list[MessageHit]
) -> MessagePage:
    sql = f"SELECT CASE WHEN {_SCOPE_SQL} THEN NULL ELSE {_FTS_COUNT} END" if filters == Filters() else ""
    if sql:
        alone = (await db.execute(_statement(sql, query, account_id, filters))).scalar_one()
        if alone is not None:
            return MessagePage(hits, int(alone), True)
    where = _where(_chat_clauses(filters) + _message_clauses(filters))
    sql = (
        "SELECT count(*) FROM (SELECT 1 FROM chat_messages_fts f JOIN chat_messages m ON m.rowid = f.rowid"
        f" JOIN chats c ON c.id = m.chat_id WHERE f.chat_messages_fts MATCH :fts_match AND {where}"
        " LIMIT :cap)"
    )
    counted = int((await db.execute(_statement(sql, query, account_id, filters, cap=TOTAL_CAP))).scalar_one())
    return MessagePage(hits, counted, counted < TOTAL_CAP)

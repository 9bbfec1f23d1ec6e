"""Aggregate SQL of the chat statistics, portable between SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Date, Integer, String, and_, cast, exists, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from chasm.models import Chat, ChatMessage, ChatWorkspace

PERIODS = ("day", "week", "month", "year")


@dataclass
class Usage:
    """Messages and tokens of one (provider, model) pair."""

    provider: str
    model: str | None
    messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Counts:
    sessions: int
    workspaces: int
    tool_calls: int
    providers: int


def _i(value: Any) -> int:
    return int(value or 0)


async def counts(db: AsyncSession, account_id: uuid.UUID) -> Counts:
    row = (
        await db.execute(
            select(
                func.count(Chat.id),
                func.sum(Chat.tool_call_count),
                func.count(func.distinct(Chat.provider)),
            ).where(Chat.account_id == account_id)
        )
    ).one()
    workspaces = await db.scalar(
        select(func.count(ChatWorkspace.id)).where(ChatWorkspace.account_id == account_id)
    )
    return Counts(_i(row[0]), _i(workspaces), _i(row[1]), _i(row[2]))


async def usage(db: AsyncSession, account_id: uuid.UUID) -> list[Usage]:
    """Usage per (provider, model): message-level tokens under each message's model (else its
    chat's), plus chat-level totals of chats whose messages carry no token counts."""
    model = func.coalesce(ChatMessage.model, Chat.model)
    by_message = (
        select(
            Chat.provider,
            model,
            func.count(ChatMessage.id),
            func.sum(ChatMessage.input_tokens),
            func.sum(ChatMessage.output_tokens),
            func.sum(ChatMessage.cache_read_tokens),
            func.sum(ChatMessage.cache_write_tokens),
        )
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(Chat.account_id == account_id)
        .group_by(Chat.provider, model)
    )
    result: dict[tuple[str, str | None], Usage] = {}
    for provider, name, n, inp, out, cr, cw in (await db.execute(by_message)).all():
        result[(provider, name)] = Usage(provider, name, _i(n), _i(inp), _i(out), _i(cr), _i(cw))
    message_tokens = (
        ChatMessage.input_tokens
        + ChatMessage.output_tokens
        + ChatMessage.cache_read_tokens
        + ChatMessage.cache_write_tokens
    )
    has_message_usage = exists().where(ChatMessage.chat_id == Chat.id, message_tokens > 0)
    chat_level = (
        select(
            Chat.provider,
            Chat.model,
            func.sum(Chat.input_tokens),
            func.sum(Chat.output_tokens),
            func.sum(Chat.cache_read_tokens),
            func.sum(Chat.cache_write_tokens),
        )
        .where(Chat.account_id == account_id, ~has_message_usage)
        .group_by(Chat.provider, Chat.model)
    )
    for provider, chat_model, inp, out, cr, cw in (await db.execute(chat_level)).all():
        entry = result.setdefault((provider, chat_model), Usage(provider, chat_model))
        entry.input_tokens += _i(inp)
        entry.output_tokens += _i(out)
        entry.cache_read_tokens += _i(cr)
        entry.cache_write_tokens += _i(cw)
    return list(result.values())


async def sessions_per_provider(db: AsyncSession, account_id: uuid.UUID) -> dict[str, int]:
    stmt = (
        select(Chat.provider, func.count(Chat.id))
        .where(Chat.account_id == account_id)
        .group_by(Chat.provider)
    )
    return {provider: _i(n) for provider, n in (await db.execute(stmt)).all()}


def _chat_start() -> ColumnElement[Any]:
    return func.coalesce(Chat.started_at, Chat.created_at)


async def activity_between(
    db: AsyncSession, account_id: uuid.UUID, since: datetime, until: datetime
) -> tuple[int, int]:
    """(chats started, messages written) in [since, until)."""
    chats = await db.scalar(
        select(func.count(Chat.id)).where(
            Chat.account_id == account_id, _chat_start() >= since, _chat_start() < until
        )
    )
    messages = await db.scalar(
        select(func.count(ChatMessage.id))
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(Chat.account_id == account_id, ChatMessage.created_at >= since, ChatMessage.created_at < until)
    )
    return _i(chats), _i(messages)


def bucket(db: AsyncSession, column: Any, period: str) -> ColumnElement[Any]:
    """The first day of the period holding `column` (weeks start on Monday), as a date or ISO text."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    if db.get_bind().dialect.name == "postgresql":
        # Literals, not parameters: GROUP BY must repeat the SELECT expression exactly.
        utc = func.timezone(literal_column("'UTC'"), column)
        return cast(func.date_trunc(literal_column(f"'{period}'"), utc), Date)
    # SQLite stores UTC timestamps as 'YYYY-MM-DD HH:MM:SS...' text.
    if period == "day":
        return func.date(column)
    if period == "month":
        return func.strftime("%Y-%m-01", column)
    if period == "year":
        return func.strftime("%Y-01-01", column)
    days_since_monday = (cast(func.strftime("%w", column), Integer) + 6) % 7
    offset = literal("-", String) + cast(days_since_monday, String) + literal(" days", String)
    return func.date(column, offset)


async def timeline(
    db: AsyncSession, account_id: uuid.UUID, period: str, since: datetime | None, until: datetime | None
) -> dict[str, dict[str, int]]:
    """{first day of period: {sessions, messages, tokens}}."""
    out: dict[str, dict[str, int]] = {}

    def slot(day: Any) -> dict[str, int]:
        key = str(day)[:10]
        return out.setdefault(key, {"sessions": 0, "messages": 0, "tokens": 0})

    start = _chat_start()
    chat_bucket = bucket(db, start, period).label("bucket")
    chat_where = [Chat.account_id == account_id, start.is_not(None)]
    if since:
        chat_where.append(start >= since)
    if until:
        chat_where.append(start < until)
    stmt = select(chat_bucket, func.count(Chat.id)).where(and_(*chat_where)).group_by(chat_bucket)
    for day, n in (await db.execute(stmt)).all():
        slot(day)["sessions"] += _i(n)
    message_bucket = bucket(db, ChatMessage.created_at, period).label("bucket")
    tokens = func.sum(
        ChatMessage.input_tokens
        + ChatMessage.output_tokens
        + ChatMessage.cache_read_tokens
        + ChatMessage.cache_write_tokens
    )
    message_where = [Chat.account_id == account_id, ChatMessage.created_at.is_not(None)]
    if since:
        message_where.append(ChatMessage.created_at >= since)
    if until:
        message_where.append(ChatMessage.created_at < until)
    stmt = (
        select(message_bucket, func.count(ChatMessage.id), tokens)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(and_(*message_where))
        .group_by(message_bucket)
    )
    for day, n, total in (await db.execute(stmt)).all():
        entry = slot(day)
        entry["messages"] += _i(n)
        entry["tokens"] += _i(total)
    return dict(sorted(out.items()))

"""Statistics of the chat library: counts, token totals and estimated cost per model and provider."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.chats import stats_repository as repo
from chasm.chats.pricing import estimate_cost, price_for
from chasm.chats.stats_repository import Usage
from chasm.chats.stats_schemas import (
    LegacyStats,
    ModelUsage,
    ProviderStatsRead,
    StatsOverviewRead,
    TimelineStats,
)
from chasm.kit.timeutil import utcnow

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _tokens(rows: Iterable[Usage]) -> dict[str, int]:
    totals = dict.fromkeys(TOKEN_KEYS, 0)
    for row in rows:
        for key in TOKEN_KEYS:
            totals[key] += getattr(row, key)
    return totals


def _cost(rows: Iterable[Usage]) -> tuple[float | None, int]:
    """Sum of the priced rows' costs (None when no row is priced) and the tokens left unpriced."""
    total: float | None = None
    unpriced = 0
    for row in rows:
        cost = estimate_cost(
            row.model, row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens
        )
        if cost is None:
            unpriced += sum(getattr(row, k) for k in TOKEN_KEYS)
        else:
            total = (total or 0.0) + cost
    return (round(total, 6) if total is not None else None), unpriced


def per_model(rows: list[Usage]) -> list[ModelUsage]:
    grouped: dict[str | None, list[Usage]] = {}
    for row in rows:
        grouped.setdefault(row.model, []).append(row)
    models = []
    for model, group in grouped.items():
        tokens = _tokens(group)
        models.append(
            {
                "model": model,
                "providers": sorted({r.provider for r in group}),
                "message_count": sum(r.messages for r in group),
                **tokens,
                "token_count": sum(tokens.values()),
                "priced": price_for(model) is not None,
                "estimated_cost_usd": _cost(group)[0] if price_for(model) else None,
            }
        )
    usages = [ModelUsage.model_validate(m) for m in models]
    return sorted(usages, key=lambda m: (-m.token_count, m.model or ""))


async def models(db: AsyncSession, actor: Actor) -> list[ModelUsage]:
    """Token totals and estimated cost per model."""
    return per_model(await repo.usage(db, actor.account_id))


async def legacy_stats(db: AsyncSession, actor: Actor) -> LegacyStats:
    """Spec 003's /api/stats, with token totals and the estimated cost added."""
    counts = await repo.counts(db, actor.account_id)
    usage = await repo.usage(db, actor.account_id)
    tokens = _tokens(usage)
    cost, unpriced = _cost(usage)
    return LegacyStats.model_validate(
        {
            "totalSessions": counts.sessions,
            "totalMessages": sum(u.messages for u in usage),
            "totalWorkspaces": counts.workspaces,
            "totalToolInvocations": counts.tool_calls,
            "totalInputTokens": tokens["input_tokens"],
            "totalOutputTokens": tokens["output_tokens"],
            "totalCacheReadTokens": tokens["cache_read_tokens"],
            "totalCacheWriteTokens": tokens["cache_write_tokens"],
            "totalTokens": sum(tokens.values()),
            "estimatedCostUsd": cost,
            "unpricedTokens": unpriced,
            "models": per_model(usage),
        }
    )


async def overview(db: AsyncSession, actor: Actor) -> StatsOverviewRead:
    """Spec 001 StatsOverviewRead, with token totals, tool calls and the estimated cost."""
    counts = await repo.counts(db, actor.account_id)
    usage = await repo.usage(db, actor.account_id)
    tokens = _tokens(usage)
    cost, unpriced = _cost(usage)
    midnight = datetime.combine(utcnow().date(), time(0), tzinfo=UTC)
    sessions_today, messages_today = await repo.activity_between(
        db, actor.account_id, midnight, midnight + timedelta(days=1)
    )
    return StatsOverviewRead.model_validate(
        {
            "total_sessions": counts.sessions,
            "total_messages": sum(u.messages for u in usage),
            "total_tokens": sum(tokens.values()),
            "active_providers": counts.providers,
            "workspaces": counts.workspaces,
            "sessions_today": sessions_today,
            "messages_today": messages_today,
            "total_tool_invocations": counts.tool_calls,
            **tokens,
            "estimated_cost_usd": cost,
            "unpriced_tokens": unpriced,
            "models": per_model(usage),
        }
    )


async def providers(db: AsyncSession, actor: Actor) -> list[ProviderStatsRead]:
    """Spec 001 ProviderStatsRead per provider, with token totals and the estimated cost."""
    usage = await repo.usage(db, actor.account_id)
    sessions = await repo.sessions_per_provider(db, actor.account_id)
    result = []
    for provider in sorted(set(sessions) | {u.provider for u in usage}):
        rows = [u for u in usage if u.provider == provider]
        tokens = _tokens(rows)
        cost, unpriced = _cost(rows)
        result.append(
            {
                "provider": provider,
                "session_count": sessions.get(provider, 0),
                "message_count": sum(r.messages for r in rows),
                "token_count": sum(tokens.values()),
                **tokens,
                "estimated_cost_usd": cost,
                "unpriced_tokens": unpriced,
            }
        )
    stats = [ProviderStatsRead.model_validate(p) for p in result]
    return sorted(stats, key=lambda p: (-p.session_count, p.provider))


async def timeline(
    db: AsyncSession,
    actor: Actor,
    period: str = "week",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TimelineStats]:
    """Spec 001 TimelineStats: chats started, messages and tokens per day, week, month or year."""
    buckets = await repo.timeline(db, actor.account_id, period, _utc(since), _utc(until))
    return [TimelineStats(date=day, period=period, **values) for day, values in buckets.items()]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

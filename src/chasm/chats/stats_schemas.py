"""Read schemas of the library statistics: 001's StatsOverview, ProviderStats and TimelineStats,
003's /stats totals (camelCase, as 003 shows them), and the per-model usage both carry."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, WithJsonSchema


class TokenTotals(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class ModelUsage(TokenTotals):
    model: str | None
    providers: list[str]
    message_count: int
    token_count: int
    priced: bool
    estimated_cost_usd: float | None


class LegacyStats(BaseModel):
    """003's GET /api/stats."""

    model_config = ConfigDict(title="Stats")

    totalSessions: int  # noqa: N815  (003's keys)
    totalMessages: int  # noqa: N815
    totalWorkspaces: int  # noqa: N815
    totalToolInvocations: int  # noqa: N815
    totalInputTokens: int  # noqa: N815
    totalOutputTokens: int  # noqa: N815
    totalCacheReadTokens: int  # noqa: N815
    totalCacheWriteTokens: int  # noqa: N815
    totalTokens: int  # noqa: N815
    estimatedCostUsd: float | None  # noqa: N815
    unpricedTokens: int  # noqa: N815
    models: list[ModelUsage]


class StatsOverviewRead(TokenTotals):
    """001 StatsOverview, with token totals, tool calls and the estimated cost."""

    model_config = ConfigDict(title="StatsOverview")

    total_sessions: int
    total_messages: int
    total_tokens: int
    active_providers: int
    workspaces: int
    sessions_today: int
    messages_today: int
    total_tool_invocations: int
    estimated_cost_usd: float | None
    unpriced_tokens: int
    models: list[ModelUsage]


class ProviderStatsRead(TokenTotals):
    """001 ProviderStats, with token totals and the estimated cost."""

    model_config = ConfigDict(title="ProviderStats")

    provider: str
    session_count: int
    message_count: int
    token_count: int
    estimated_cost_usd: float | None
    unpriced_tokens: int


class TimelineStats(BaseModel):
    """001 TimelineStats: one period starting on `date`."""

    date: Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
    period: str
    sessions: int
    messages: int
    tokens: int

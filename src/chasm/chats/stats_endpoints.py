"""Statistics routes: /stats (spec 003) and /stats/overview, /providers, /timeline (spec 001)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from chasm.auth.deps import ChatReader
from chasm.chats import stats
from chasm.chats.stats_schemas import (
    LegacyStats,
    ModelUsage,
    ProviderStatsRead,
    StatsOverviewRead,
    TimelineStats,
)
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.surface import ChatRouter

routes = ChatRouter(tag=Tag.STATISTICS)


@routes.get("/stats", model=LegacyStats)
async def get_stats(actor: ChatReader, db: DbSession) -> LegacyStats:
    """Totals of chats, messages, workspaces, tool calls and tokens, and the estimated cost."""
    return await stats.legacy_stats(db, actor)


@routes.get("/stats/overview", model=StatsOverviewRead)
async def get_stats_overview(actor: ChatReader, db: DbSession) -> StatsOverviewRead:
    """Totals, today's activity, token totals and the estimated cost per model."""
    return await stats.overview(db, actor)


@routes.get("/stats/providers", model=list[ProviderStatsRead])
async def get_provider_stats(actor: ChatReader, db: DbSession) -> list[ProviderStatsRead]:
    """Chats, messages, tokens and estimated cost per provider."""
    return await stats.providers(db, actor)


@routes.get("/stats/models", model=list[ModelUsage])
async def get_model_stats(actor: ChatReader, db: DbSession) -> list[ModelUsage]:
    """Messages, tokens and estimated cost per model."""
    return await stats.models(db, actor)


@routes.get("/stats/timeline", model=list[TimelineStats])
async def get_timeline_stats(
    actor: ChatReader,
    db: DbSession,
    period: Literal["day", "week", "month", "year"] = "week",
    since: Annotated[datetime | None, Query(description="Only activity at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Only activity before this time")] = None,
) -> list[TimelineStats]:
    """Chats started, messages and tokens per day, week (from Monday), month or year."""
    return await stats.timeline(db, actor, period, since, until)

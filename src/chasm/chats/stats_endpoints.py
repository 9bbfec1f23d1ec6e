"""Statistics routes: /stats (spec 003) and /stats/overview, /providers, /timeline (spec 001)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from chasm.auth.deps import ChatReader
from chasm.chats import stats
from chasm.kit.deps import DbSession
from chasm.kit.envelope import ok

router = APIRouter(tags=["Statistics"])


@router.get("/stats")
async def get_stats(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """Totals of chats, messages, workspaces, tool calls and tokens, and the estimated cost."""
    return ok(await stats.legacy_stats(session, actor))


@router.get("/stats/overview")
async def get_stats_overview(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """Totals, today's activity, token totals and the estimated cost per model."""
    return ok(await stats.overview(session, actor))


@router.get("/stats/providers")
async def get_provider_stats(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """Chats, messages, tokens and estimated cost per provider."""
    return ok(await stats.providers(session, actor))


@router.get("/stats/models")
async def get_model_stats(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """Messages, tokens and estimated cost per model."""
    return ok(await stats.models(session, actor))


@router.get("/stats/timeline")
async def get_timeline_stats(
    actor: ChatReader,
    session: DbSession,
    period: Literal["day", "week", "month", "year"] = "week",
    since: Annotated[datetime | None, Query(description="Only activity at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Only activity before this time")] = None,
) -> dict[str, Any]:
    """Chats started, messages and tokens per day, week (from Monday), month or year."""
    return ok(await stats.timeline(session, actor, period, since, until))

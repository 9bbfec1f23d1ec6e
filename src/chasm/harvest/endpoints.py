"""Harvest and provider routes of spec 001 (/api/v1) and 003 (/api)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from chasm.auth.deps import ChatActor, SessionMaker
from chasm.harvest import service
from chasm.harvest.schemas import HarvestRequest
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.envelope import ok

router = APIRouter()


@router.post("/harvest", tags=["Sessions"])
async def harvest(
    actor: ChatActor, maker: SessionMaker, settings: AppSettings, body: HarvestRequest | None = None
) -> dict[str, Any]:
    """Harvest chats from every enabled provider (or those named) into the library."""
    return ok(await service.run_request(maker, settings, actor, body or HarvestRequest()))


@router.get("/harvest/status", tags=["Sessions"])
async def harvest_status(actor: ChatActor, session: DbSession) -> dict[str, Any]:
    """When each provider was last harvested, with its file and chat counts."""
    return ok(await service.status(session, actor))


@router.get("/providers", tags=["Providers"])
async def list_providers(actor: ChatActor, session: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Every harvest source with its detection status on this machine."""
    return ok(await service.list_providers(session, actor, settings))


@router.get("/providers/{provider_id}", tags=["Providers"])
async def get_provider(
    actor: ChatActor, session: DbSession, settings: AppSettings, provider_id: str
) -> dict[str, Any]:
    """One provider with its detection status."""
    return ok(await service.get_provider(session, actor, settings, provider_id))

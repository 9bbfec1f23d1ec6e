"""Harvest and provider routes of spec 001 (/api/v1) and 003 (/api)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from chasm.auth.deps import ChatReader, HarvestRunner, SessionMaker
from chasm.harvest import service
from chasm.harvest.schemas import HarvestRequest
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.envelope import ok

router = APIRouter()


@router.post("/harvest", tags=["Sessions"])
async def harvest(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings, body: HarvestRequest | None = None
) -> dict[str, Any]:
    """Harvest the server's own folders (instance administrators only) into the library."""
    return ok(await service.run_request(maker, settings, actor, body or HarvestRequest()))


@router.post("/harvest/upload", tags=["Sessions"])
async def harvest_upload(
    actor: HarvestRunner,
    maker: SessionMaker,
    settings: AppSettings,
    files: Annotated[list[UploadFile], File(description="Transcript files, or .zip / .tar[.gz] archives")],
    source: Annotated[
        str | None, Form(max_length=60, description="The tool that wrote them (default: folder names)")
    ] = None,
) -> dict[str, Any]:
    """Parse uploaded transcripts with the harvest sources into the caller's library."""
    uploads = [(f.filename or "upload", f.file) for f in files]
    return ok(await service.harvest_upload(maker, settings, actor, uploads, source))


@router.get("/harvest/status", tags=["Sessions"])
async def harvest_status(actor: ChatReader, session: DbSession) -> dict[str, Any]:
    """When each provider was last harvested, with its file and chat counts."""
    return ok(await service.status(session, actor))


@router.get("/providers", tags=["Providers"])
async def list_providers(actor: ChatReader, session: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Every harvest source with its detection status on this machine."""
    return ok(await service.list_providers(session, actor, settings))


@router.get("/providers/{provider_id}", tags=["Providers"])
async def get_provider(
    actor: ChatReader, session: DbSession, settings: AppSettings, provider_id: str
) -> dict[str, Any]:
    """One provider with its detection status."""
    return ok(await service.get_provider(session, actor, settings, provider_id))

"""Harvest routes of spec 001 (/api/v1) and 003 (/api), built per surface (the harvest sources are
listed by the providers routes, chasm.providers.endpoints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Request, UploadFile

from chasm.auth.deps import ChatReader, HarvestRunner, SessionMaker
from chasm.harvest import service
from chasm.harvest.schemas import HarvestRequest, HarvestResult, HarvestStatus
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.surface import ChatRouter
from chasm.realtime import topics

routes = ChatRouter(tag=Tag.SESSIONS)


@routes.post("/harvest", model=HarvestResult)
async def harvest(
    actor: HarvestRunner, maker: SessionMaker, settings: AppSettings, body: HarvestRequest | None = None
) -> HarvestResult:
    """Harvest the server's own folders (instance administrators only) into the library."""
    return await service.run_request(maker, settings, actor, body or HarvestRequest())


@routes.post("/harvest/upload", model=HarvestResult)
async def harvest_upload(
    actor: HarvestRunner,
    maker: SessionMaker,
    settings: AppSettings,
    request: Request,
    files: Annotated[list[UploadFile], File(description="Transcript files, or .zip / .tar[.gz] archives")],
    source: Annotated[
        str | None,
        Form(max_length=60, description="The tool that wrote them (a source id, or a 001 name naming one)"),
    ] = None,
) -> HarvestResult:
    """Parse uploaded transcripts with the harvest sources into the caller's library."""
    uploads = [(f.filename or "upload", f.file) for f in files]
    bus = getattr(request.app.state, "events", None)
    stored = topics.harvest_notifier(bus, maker, actor.account_id, source="upload")
    return await service.harvest_upload(maker, settings, actor, uploads, source, stored)


@routes.get("/harvest/status", model=HarvestStatus)
async def harvest_status(actor: ChatReader, db: DbSession) -> HarvestStatus:
    """When each provider was last harvested, with its file and chat counts."""
    return await service.status(db, actor)

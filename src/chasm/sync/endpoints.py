"""Spec 001's POST /sync, on both chat surfaces."""

from __future__ import annotations

from chasm.auth.deps import ChatWriter, SessionMaker
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings
from chasm.kit.surface import ChatRouter
from chasm.sync import service
from chasm.sync.schemas import SyncResponse

routes = ChatRouter(tag=Tag.SESSIONS)


@routes.post("/sync", model=SyncResponse)
async def sync_library(actor: ChatWriter, maker: SessionMaker, settings: AppSettings) -> SyncResponse:
    """Push and pull the library to the storage the settings name (instance administrators)."""
    return await service.sync(maker, settings, actor)

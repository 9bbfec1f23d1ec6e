"""Providers routes of spec 001 (/api/v1) and 003 (/api): model providers (create, get, update,
delete, health, models) listed alongside the harvest sources (`kind` tells them apart)."""

from __future__ import annotations

from chasm.auth.deps import ChatReader, SessionMaker, SettingsWriter
from chasm.chats.schemas import Deleted
from chasm.kit.api_tags import Tag
from chasm.kit.deps import AppSettings, DbSession
from chasm.kit.surface import ChatRouter, NoContent
from chasm.providers import service
from chasm.providers.schemas import (
    CreateProvider,
    ModelProviderRead,
    ModelRead,
    ProviderEntry,
    ProviderHealth,
    UpdateProvider,
)

routes = ChatRouter(tag=Tag.PROVIDERS)


@routes.get("/providers", model=list[ProviderEntry])
async def list_providers(actor: ChatReader, db: DbSession, settings: AppSettings) -> list[ProviderEntry]:
    """The account's model providers (`kind: "model"`) and every harvest source with its detection
    status (`kind: "harvest"`)."""
    return await service.list_entries(db, actor, settings)


@routes.post("/providers", model=ModelProviderRead, status_code=201)
async def create_provider(
    actor: SettingsWriter, db: DbSession, settings: AppSettings, body: CreateProvider
) -> ModelProviderRead:
    """Configure a model provider; its API key is stored encrypted and never returned."""
    return await service.create(db, actor, settings, body)


@routes.get("/providers/{provider_id}", model=ProviderEntry)
async def get_provider(
    actor: ChatReader, db: DbSession, settings: AppSettings, provider_id: str
) -> ProviderEntry:
    """A model provider by id, or a harvest source by name."""
    return await service.get_entry(db, actor, settings, provider_id)


@routes.put("/providers/{provider_id}", model=ModelProviderRead)
async def update_provider(
    actor: SettingsWriter, db: DbSession, settings: AppSettings, provider_id: str, body: UpdateProvider
) -> ModelProviderRead:
    """Change a model provider; fields left out keep their value."""
    return await service.update(db, actor, settings, provider_id, body)


@routes.delete("/providers/{provider_id}", model=Deleted, no_content=True)
async def delete_provider(actor: SettingsWriter, db: DbSession, provider_id: str) -> NoContent:
    """Remove a model provider and its stored key (204 on /api/v1)."""
    return NoContent(await service.delete(db, actor, provider_id))


@routes.get("/providers/{provider_id}/health", model=ProviderHealth)
async def provider_health(actor: ChatReader, maker: SessionMaker, provider_id: str) -> ProviderHealth:
    """Call the provider now (its model list) and report whether it answered, and how fast."""
    return await service.health(maker, actor, provider_id)


@routes.get("/providers/{provider_id}/models", model=list[ModelRead])
async def provider_models(actor: ChatReader, maker: SessionMaker, provider_id: str) -> list[ModelRead]:
    """The models the provider's API serves, as it lists them now."""
    return await service.models(maker, actor, provider_id)

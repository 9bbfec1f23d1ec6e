"""Model providers of an account: CRUD, health and model listing over the real APIs, and
`resolve`, which turns a model spec ("provider/model", a bare model, or nothing) into a ready
`ChatModel`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.chats.schemas import Deleted
from chasm.config import Settings
from chasm.harvest import service as harvest
from chasm.kit.errors import BadRequest, ChasmError, Conflict
from chasm.kit.ids import parse_uuid
from chasm.kit.timeutil import iso, utcnow
from chasm.models import ModelProvider
from chasm.providers import repository as repo
from chasm.providers import urls
from chasm.providers.exceptions import ProviderUnavailable, UnknownModel, UnknownProvider
from chasm.providers.llm import ChatModel
from chasm.providers.runtime import DEFAULT_BASE_URLS, ProviderModel, base_url_of, runtime_of
from chasm.providers.schemas import (
    MODEL_PROVIDER_TYPES,
    CreateProvider,
    ModelProviderRead,
    ModelRead,
    ProviderEntry,
    ProviderHealth,
    UpdateProvider,
)


def present(row: ModelProvider) -> ModelProviderRead:
    return ModelProviderRead(
        id=row.id,
        name=row.name,
        type=row.type,  # type: ignore[arg-type]
        enabled=row.enabled,
        base_url=base_url_of(row) or None,
        models=list(row.models or []),
        default_model=row.default_model,
        is_default=row.is_default,
        has_api_key=row.api_key_sealed is not None,
        created_at=iso(row.created_at) or "",
        updated_at=iso(row.updated_at) or "",
    )


def _type(value: str) -> str:
    kind = value.strip().lower()
    if kind not in MODEL_PROVIDER_TYPES:
        raise BadRequest(
            f"Provider type {value!r} is not a model API; one of {', '.join(MODEL_PROVIDER_TYPES)} "
            "(copilot, cursor, chatgpt and claude are harvest sources, listed by GET /providers)",
            code="invalid_provider_type",
        )
    return kind


async def _row(db: AsyncSession, actor: Actor, provider_id: str) -> ModelProvider:
    parsed = parse_uuid(provider_id)
    row = await repo.get(db, actor.account_id, parsed) if parsed is not None else None
    if row is None:
        raise UnknownProvider(f"Model provider '{provider_id}' not found")
    return row


# Listing: model providers and harvest sources side by side


async def list_entries(db: AsyncSession, actor: Actor, settings: Settings) -> list[ProviderEntry]:
    """The account's model providers (`kind: "model"`), then every harvest source (`kind: "harvest"`)."""
    models: list[ProviderEntry] = [present(r) for r in await repo.list_providers(db, actor.account_id)]
    return models + list(await harvest.list_providers(db, actor, settings))


async def get_entry(db: AsyncSession, actor: Actor, settings: Settings, provider_id: str) -> ProviderEntry:
    """A model provider by its id, or a harvest source by its name."""
    parsed = parse_uuid(provider_id)
    if parsed is not None:
        return present(await _row(db, actor, provider_id))
    return await harvest.get_provider(db, actor, settings, provider_id)


# Changes


async def create(
    db: AsyncSession, actor: Actor, settings: Settings, body: CreateProvider
) -> ModelProviderRead:
    kind = _type(body.type)
    if kind == "custom" and not body.base_url:
        raise BadRequest("A custom (OpenAI-compatible) provider needs its base_url", code="base_url_required")
    base_url = (
        await urls.check(body.base_url, actor, settings.provider_allowed_networks) if body.base_url else None
    )
    if base_url is None and kind in ("ollama", "lm-studio"):  # their defaults are this machine
        await urls.check(DEFAULT_BASE_URLS[kind], actor, settings.provider_allowed_networks)
    if await repo.by_name(db, actor.account_id, body.name) is not None:
        raise Conflict(f"A provider named '{body.name}' exists already", code="provider_exists")
    first = await repo.count(db, actor.account_id) == 0
    is_default = body.is_default if body.is_default is not None else first
    if is_default:
        await repo.clear_default(db, actor.account_id)
    now = utcnow()
    row = ModelProvider(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        name=body.name,
        type=kind,
        base_url=base_url,
        api_key_sealed=runtime_of(db).seal(actor.account_id, body.api_key) if body.api_key else None,
        enabled=body.enabled,
        is_default=is_default,
        default_model=body.default_model,
        models=list(dict.fromkeys(body.models)),
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    runtime_of(db).changed(actor.account_id)
    record(db, actor, "provider.create", "provider", row.id, summary=f"{kind} {body.name}")
    return present(row)


async def update(
    db: AsyncSession, actor: Actor, settings: Settings, provider_id: str, body: UpdateProvider
) -> ModelProviderRead:
    row = await _row(db, actor, provider_id)
    fields = body.model_fields_set
    renamed = body.name is not None and body.name.lower() != row.name.lower()
    if renamed and await repo.by_name(db, actor.account_id, body.name or "") is not None:
        raise Conflict(f"A provider named '{body.name}' exists already", code="provider_exists")
    if body.name is not None:
        row.name = body.name
    if body.base_url is not None:
        row.base_url = await urls.check(body.base_url, actor, settings.provider_allowed_networks)
    if "api_key" in fields:
        key = body.api_key
        row.api_key_sealed = runtime_of(db).seal(actor.account_id, key) if key else None
    if body.enabled is not None:
        row.enabled = body.enabled
    if "default_model" in fields:
        row.default_model = body.default_model
    if body.models is not None:
        row.models = list(dict.fromkeys(body.models))
    if body.is_default is not None:
        if body.is_default:
            await repo.clear_default(db, actor.account_id, keep=row.id)
        row.is_default = body.is_default
    row.updated_at = utcnow()
    await db.flush()
    runtime_of(db).changed(actor.account_id)
    record(
        db, actor, "provider.update", "provider", row.id, metadata={"fields": sorted(fields - {"api_key"})}
    )
    return present(row)


async def delete(db: AsyncSession, actor: Actor, provider_id: str) -> Deleted:
    row = await _row(db, actor, provider_id)
    await db.delete(row)
    await db.flush()
    runtime_of(db).forget(row.id)
    runtime_of(db).changed(actor.account_id)
    record(db, actor, "provider.delete", "provider", row.id, summary=row.name)
    return Deleted(id=row.id)


# Calls to the provider (no database transaction held while the provider answers)


async def _client(maker: async_sessionmaker[AsyncSession], actor: Actor, provider_id: str) -> ProviderModel:
    async with maker() as db:
        row = await _row(db, actor, provider_id)
        return runtime_of(db).model(row)


async def health(maker: async_sessionmaker[AsyncSession], actor: Actor, provider_id: str) -> ProviderHealth:
    """A real call (its model list: authenticated, no tokens spent) and how long it took."""
    client = await _client(maker, actor, provider_id)
    started = time.perf_counter()
    error: str | None = None
    try:
        await client.list_models()
    except ChasmError as exc:
        error = exc.message
    latency = round((time.perf_counter() - started) * 1000)
    return ProviderHealth(
        healthy=error is None, latency_ms=latency, last_checked=iso(utcnow()) or "", error=error
    )


async def models(maker: async_sessionmaker[AsyncSession], actor: Actor, provider_id: str) -> list[ModelRead]:
    """The models the provider's API lists now."""
    client = await _client(maker, actor, provider_id)
    return [
        ModelRead(id=m.id, name=m.name, context_length=m.context_length, capabilities=m.capabilities)
        for m in await client.list_models()
    ]


# Routing


@dataclass
class Resolved:
    provider: ModelProvider
    chat: ChatModel
    model: str


async def resolve_route(db: AsyncSession, actor: Actor, spec: str | None) -> Resolved:
    """As `resolve`, with the provider's row (its name is recorded with each completion)."""
    spec = (spec or "").strip()
    runtime = runtime_of(db)
    cached = runtime.cached_route(actor.account_id, spec)
    if isinstance(cached, Resolved):
        return cached
    resolved = await _resolve_route(db, actor, spec)
    runtime.remember_route(actor.account_id, spec, resolved)
    return resolved


async def _resolve_route(db: AsyncSession, actor: Actor, spec: str) -> Resolved:
    row: ModelProvider | None = None
    model: str | None = None
    if spec:  # "provider/model", or a provider's name alone: its default model
        name, _, rest = spec.partition("/")
        row = await repo.by_name(db, actor.account_id, name)
        if row is not None:
            model = rest.strip() or row.default_model or (row.models[0] if row.models else None)
    if row is None:  # a bare model (possibly with slashes: "meta-llama/Llama-3-8B") of the default
        row = await repo.default(db, actor.account_id)
        if row is None:
            prefix = spec.partition("/")[0] if "/" in spec else None
            raise UnknownProvider(
                f"No provider named '{prefix}', and no default provider to send '{spec}' to"
                if prefix
                else "No default model provider: create one (POST /providers) or name one as PROVIDER/MODEL"
            )
        model = spec or row.default_model or (row.models[0] if row.models else None)
    if not row.enabled:
        raise ProviderUnavailable(f"Provider '{row.name}' is disabled", status_code=503)
    if not model:
        raise UnknownModel(f"Provider '{row.name}' has no default model: name one as {row.name}/MODEL")
    return Resolved(provider=row, chat=runtime_of(db).model(row), model=model)


async def resolve(db: AsyncSession, actor: Actor, spec: str | None) -> tuple[ChatModel, str]:
    """`spec` "provider-name/model", a provider's name alone (its default model), a bare model of the
    default provider, or None for the default provider's default model. UnknownProvider /
    UnknownModel (404) when nothing matches."""
    resolved = await resolve_route(db, actor, spec)
    return resolved.chat, resolved.model

"""Per-server state of the model layer: the sealing of API keys, and one SDK client per configured
provider, reused across requests (an SDK client holds a connection pool and TLS context that cost
milliseconds to build). The runtime travels on the server's database sessions (`session.info`), so
`resolve(db, actor, spec)` needs nothing else."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.config import Settings
from chasm.kit.crypto import Box
from chasm.kit.errors import ChasmError
from chasm.models import ModelProvider
from chasm.providers.llm import ChatModel, ModelInfo

RUNTIME_KEY = "chasm.providers"
ROUTE_TTL_S = 2.0
ROUTE_CACHE_SIZE = 10_000
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://127.0.0.1:11434/v1",
    "lm-studio": "http://127.0.0.1:1234/v1",
}
# Sent where a provider has no key (local servers ignore it): never the server's environment's key.
NO_KEY = "no-key"


class ProviderModel(ChatModel, Protocol):
    async def list_models(self) -> list[ModelInfo]: ...

    async def aclose(self) -> None: ...


def base_url_of(row: ModelProvider) -> str:
    return row.base_url or DEFAULT_BASE_URLS.get(row.type, "")


@dataclass
class ProviderRuntime:
    secret_key: str
    timeout_s: float
    max_retries: int
    default_max_tokens: int
    _boxes: dict[uuid.UUID, Box] = field(default_factory=dict)
    _models: dict[uuid.UUID, tuple[tuple[Any, ...], ProviderModel]] = field(default_factory=dict)
    _retired: list[ProviderModel] = field(default_factory=list)
    # Resolved routes (account, spec) -> (expiry, value): a completion's routing skips the database
    # while its answer is fresh. Changes through this process drop an account's routes at once;
    # another process's changes show within ROUTE_TTL_S.
    _routes: dict[tuple[uuid.UUID, str], tuple[float, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> ProviderRuntime:
        return cls(
            secret_key=settings.secret_key or "",
            timeout_s=settings.provider_timeout_s,
            max_retries=settings.provider_max_retries,
            default_max_tokens=settings.provider_default_max_tokens,
        )

    def box(self, account_id: uuid.UUID) -> Box:
        """Keys are sealed per account: a sealed key copied into another account's row opens nowhere."""
        box = self._boxes.get(account_id)
        if box is None:
            box = self._boxes[account_id] = Box(f"{self.secret_key}:model-provider:{account_id}")
        return box

    def seal(self, account_id: uuid.UUID, api_key: str) -> str:
        return self.box(account_id).encrypt(api_key)

    def model(self, row: ModelProvider) -> ProviderModel:
        """The provider's client, built once per configuration (a changed row gets a new one)."""
        fingerprint = (row.type, row.name, row.base_url, row.api_key_sealed)
        cached = self._models.get(row.id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        if cached is not None:
            self._retired.append(cached[1])  # may serve a request still running: closed at shutdown
        model = self._build(row)
        self._models[row.id] = (fingerprint, model)
        return model

    def _build(self, row: ModelProvider) -> ProviderModel:
        try:
            key = self.box(row.account_id).decrypt(row.api_key_sealed) if row.api_key_sealed else NO_KEY
        except ValueError as exc:
            raise ChasmError(
                f"Provider '{row.name}': its stored API key cannot be decrypted; set it again"
            ) from exc
        common: dict[str, Any] = {
            "api_key": key,
            "base_url": base_url_of(row),
            "max_retries": self.max_retries,
        }
        common["timeout"] = self.timeout_s
        # The SDKs load in seconds: imported on first use (and warmed at start, in the background),
        # not with the server's modules.
        if row.type == "anthropic":
            import anthropic

            from chasm.providers.anthropic_messages import AnthropicChat

            client = anthropic.AsyncAnthropic(**common)
            return AnthropicChat(client, row.name, default_max_tokens=self.default_max_tokens)
        import openai

        from chasm.providers.openai_compat import OpenAIChat

        return OpenAIChat(openai.AsyncOpenAI(**common), row.name, max_completion_tokens=row.type == "openai")

    def cached_route(self, account_id: uuid.UUID, spec: str) -> Any:
        hit = self._routes.get((account_id, spec))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def remember_route(self, account_id: uuid.UUID, spec: str, value: Any) -> None:
        if len(self._routes) >= ROUTE_CACHE_SIZE:
            self._routes.clear()
        self._routes[(account_id, spec)] = (time.monotonic() + ROUTE_TTL_S, value)

    def changed(self, account_id: uuid.UUID) -> None:
        """An account's providers changed: its resolved routes are stale."""
        for key in [k for k in self._routes if k[0] == account_id]:
            del self._routes[key]

    def forget(self, provider_id: uuid.UUID) -> None:
        cached = self._models.pop(provider_id, None)
        if cached is not None:
            self._retired.append(cached[1])

    async def aclose(self) -> None:
        models = [m for _, m in self._models.values()] + self._retired
        self._models.clear()
        self._retired.clear()
        for model in models:
            await model.aclose()


def runtime_of(db: AsyncSession) -> ProviderRuntime:
    runtime = db.info.get(RUNTIME_KEY)
    if not isinstance(runtime, ProviderRuntime):
        raise ChasmError("The model layer is not running in this process (no provider runtime)")
    return runtime


def install(maker: async_sessionmaker[AsyncSession], runtime: ProviderRuntime | None) -> None:
    info = dict(maker.kw.get("info") or {})
    if runtime is None:
        info.pop(RUNTIME_KEY, None)
    else:
        info[RUNTIME_KEY] = runtime
    maker.configure(info=info)


def _load_sdks() -> None:
    importlib.import_module("chasm.providers.openai_compat")
    importlib.import_module("chasm.providers.anthropic_messages")


@asynccontextmanager
async def providers_lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime = ProviderRuntime.of(app.state.settings)
    app.state.providers = runtime
    install(app.state.sessionmaker, runtime)
    if app.state.role == "server" and "chasm.providers.anthropic_messages" not in sys.modules:
        asyncio.get_running_loop().run_in_executor(None, _load_sdks)
    try:
        yield
    finally:
        install(app.state.sessionmaker, None)
        await runtime.aclose()

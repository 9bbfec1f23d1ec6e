"""Payloads of the providers API (spec 001 Provider, CreateProvider, UpdateProvider,
ProviderHealth, Model). An API key goes in and never comes out: `has_api_key` says whether one
is stored."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.harvest.schemas import ProviderRead

# 001's Provider.type values that name a model API (the others, copilot, cursor, chatgpt and claude,
# are harvest sources). `custom` is any OpenAI-compatible server: vLLM, llama.cpp, LiteLLM's proxy...
ModelProviderType = Literal["openai", "anthropic", "ollama", "lm-studio", "custom"]
MODEL_PROVIDER_TYPES: tuple[str, ...] = ("openai", "anthropic", "ollama", "lm-studio", "custom")

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Routing name: a completion's model `NAME/MODEL` goes to this provider",
    ),
]
BaseUrl = Annotated[str, Field(min_length=1, max_length=2000, description="The API's base URL")]
ApiKey = Annotated[str, Field(min_length=1, max_length=4000, description="Stored encrypted; never returned")]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class CreateProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type: str = Field(description="openai, anthropic, ollama, lm-studio or custom (OpenAI-compatible)")
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None
    enabled: bool = True
    default_model: ModelName | None = Field(default=None, description="Model used when none is named")
    models: list[ModelName] = Field(default_factory=list, max_length=500)
    is_default: bool | None = Field(
        default=None, description="Route unnamed completions here (the account's first provider is)"
    )


class UpdateProvider(BaseModel):
    """Fields left out keep their value; `api_key: ""` removes the stored key."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    enabled: bool | None = None
    base_url: BaseUrl | None = None
    api_key: Annotated[str, Field(max_length=4000)] | None = None
    default_model: ModelName | None = None
    models: list[ModelName] | None = Field(default=None, max_length=500)
    is_default: bool | None = None


class ModelProviderRead(BaseModel):
    """001 Provider: a model API this account configured (`kind: "model"`)."""

    model_config = ConfigDict(title="ModelProvider")

    id: uuid.UUID
    name: str
    type: ModelProviderType
    kind: Literal["model"] = "model"
    enabled: bool
    base_url: str | None
    models: list[str]
    default_model: str | None
    is_default: bool
    has_api_key: bool
    created_at: str
    updated_at: str


# GET /providers: the account's model providers, then the harvest sources, told apart by `kind`.
ProviderEntry = Annotated[ModelProviderRead | ProviderRead, Field(discriminator="kind")]


class ProviderHealth(BaseModel):
    healthy: bool
    latency_ms: int
    last_checked: str
    error: str | None = None


class ModelRead(BaseModel):
    """001 Model: one model the provider serves, as its API lists it."""

    model_config = ConfigDict(title="Model")

    id: str
    name: str
    context_length: int | None = None
    capabilities: list[str] = Field(default_factory=list)

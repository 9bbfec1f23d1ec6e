"""Request and read schemas of harvest and providers (spec 001's HarvestRequest, HarvestResponse
and Provider keys, plus what Chasm adds)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.chats.schemas import WorkspaceRead

if TYPE_CHECKING:
    from chasm.harvest.engine import HarvestReport


class HarvestRequest(BaseModel):
    all: bool = Field(default=False, description="Include providers disabled in the settings")
    providers: list[str] | None = Field(
        default=None,
        max_length=100,
        description="001 provider names (copilot, cursor, chatgpt, claude, ...) or harvest source ids",
    )
    workspace_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)


class ProviderCounts(BaseModel):
    units_seen: int
    units_parsed: int
    units_skipped: int
    chats_created: int
    chats_updated: int
    messages_added: int
    errors: int
    bytes_parsed: int


class HarvestIssue(BaseModel):
    provider: str
    path: str
    message: str
    line: int | None


class HarvestResult(BaseModel):
    """001 HarvestResponse (`sessions_count`, `messages_count`, `providers_scanned`, `errors`), plus
    per-provider counts and structured issues."""

    model_config = ConfigDict(title="HarvestResponse")

    job_id: uuid.UUID | None = None
    status: str = "succeeded"
    sessions_count: int = 0
    messages_count: int = 0
    providers_scanned: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description='"provider: path:line: message"')
    providers: dict[str, ProviderCounts] = Field(default_factory=dict)
    issues: list[HarvestIssue] = Field(default_factory=list)
    duration_ms: int | None = None

    @classmethod
    def of(cls, report: HarvestReport, **extra: Any) -> HarvestResult:
        return cls.model_validate({**report.as_dict(), **extra})

    @classmethod
    def from_job(cls, job_id: uuid.UUID, status: str, result: dict[str, Any] | None) -> HarvestResult:
        return cls.model_validate({**(result or {}), "job_id": job_id, "status": status})


class WorkspaceRefresh(BaseModel):
    workspace: WorkspaceRead
    harvest: HarvestResult


class ProviderStatus(BaseModel):
    last_harvested: str | None
    units: int
    missing_units: int
    chat_count: int


class HarvestStatus(BaseModel):
    last_harvested: str | None
    providers: dict[str, ProviderStatus]
    running: bool


class ProviderRead(BaseModel):
    """001 Provider: a harvest source and its detection status. `type` is 001's name for the
    provider where it has one (`copilot`, `cursor`, `chatgpt`, `claude`), else `custom`; `source`
    is the harvest source id."""

    model_config = ConfigDict(title="Provider")

    id: str
    name: str
    type: Literal[
        "copilot", "cursor", "chatgpt", "claude", "ollama", "lm-studio", "openai", "anthropic", "custom"
    ]
    kind: Literal["harvest"] = "harvest"
    source: str
    enabled: bool
    opt_in: bool
    found: bool
    paths: list[str]
    roots: list[str]
    chat_count: int
    base_url: str | None = None
    models: list[str] = Field(default_factory=list)
    error: str | None = None

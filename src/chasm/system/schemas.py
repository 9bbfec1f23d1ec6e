"""Spec 001's Settings document (plus the harvest section the harvest engine reads), and the read
schemas of the system routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HarvestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roots: dict[str, list[str]] = Field(
        default_factory=dict, description="Extra folders to harvest, per provider id (e.g. aider)"
    )

    @field_validator("roots")
    @classmethod
    def _clean(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned: dict[str, list[str]] = {}
        for provider, paths in value.items():
            if not provider.strip():
                raise ValueError("provider ids must not be empty")
            kept = [p.strip() for p in paths if p.strip()]
            cleaned[provider.strip()] = list(dict.fromkeys(kept))
        return cleaned


class ChatSettingsDoc(BaseModel):
    """The whole settings document; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    theme: Literal["light", "dark", "system"] = "system"
    auto_harvest: bool = False
    harvest_interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    sync_enabled: bool = False
    sync_provider: Literal["local", "s3", "azure", "gcs", "webdav"] = "local"
    encryption_enabled: bool = False
    telemetry_enabled: bool = False
    harvest: HarvestSettings = Field(default_factory=HarvestSettings)


class ChatSettingsUpdate(BaseModel):
    """PUT body: the fields given replace the stored ones; the others are kept."""

    model_config = ConfigDict(extra="forbid")

    theme: Literal["light", "dark", "system"] | None = None
    auto_harvest: bool | None = None
    harvest_interval_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    sync_enabled: bool | None = None
    sync_provider: Literal["local", "s3", "azure", "gcs", "webdav"] | None = None
    encryption_enabled: bool | None = None
    telemetry_enabled: bool | None = None
    harvest: HarvestSettings | None = None


# Read schemas (001's HealthResponse, SystemInfo and Settings keys)


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    uptime_seconds: int


class SystemInfo(BaseModel):
    """001 SystemInfo, plus the database backend and uptime."""

    version: str
    database_size_bytes: int
    session_count: int
    workspace_count: int
    provider_count: int
    providers_with_sessions: int
    database_backend: str
    uptime_seconds: int


class VacuumResult(BaseModel):
    operation: str
    search_indexes_rebuilt: list[str] | None = Field(default=None, description="SQLite")
    tables: int | None = Field(default=None, description="PostgreSQL: tables vacuumed")
    backend: str
    size_before_bytes: int
    size_after_bytes: int
    duration_ms: float


class CachesCleared(BaseModel):
    cleared: dict[str, int] = Field(description="Entries each cache held")
    entries: int

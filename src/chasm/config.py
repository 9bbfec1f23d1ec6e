"""One Settings object for the whole server, read from CHASM_* variables and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(user_data_dir("chasm", appauthor=False))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the file named by CHASM_CONFIG (or <data_dir>/config.toml) if it exists."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("CHASM_CONFIG")
        candidate = Path(path) if path else default_data_dir() / "config.toml"
        if not candidate.is_file():
            return {}
        with candidate.open("rb") as fh:
            data = tomllib.load(fh)
        return data.get("chasm", data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHASM_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    database_schema: str | None = None  # PostgreSQL schema to use (tests run each in its own)
    host: str = "127.0.0.1"
    port: int = 8787
    secret_key: str | None = None
    base_url: str | None = None
    base_domain: str | None = None
    redis_url: str | None = None

    # Identity
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    bootstrap_admin: bool = True
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"
    codex_client_id: str = "app_EMoamEEZ73f0CkXaXp7hrann"
    codex_authorize_url: str = "https://auth.openai.com/oauth/authorize"
    codex_token_url: str = "https://auth.openai.com/oauth/token"
    codex_redirect_uri: str = "http://localhost:1455/auth/callback"

    # Rate limits: requests per window, per principal and per account
    rate_limit_enabled: bool = True
    rate_limit_window_s: int = 60
    rate_limit_principal: int = 600
    rate_limit_account: int = 1200

    # Request bodies
    max_body_bytes: int = 32 * 1024 * 1024

    # Jobs
    embedded_workers: int = 2
    job_poll_interval_s: float = 0.2

    # Chat surface
    chat_requires_auth: bool | None = None

    @property
    def effective_database_url(self) -> str:
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'chasm.db'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        if url.startswith("sqlite:///"):
            url = "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls), file_secret_settings)


@lru_cache
def get_settings() -> Settings:
    return Settings()

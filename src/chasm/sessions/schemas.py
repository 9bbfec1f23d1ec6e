"""Request and response bodies of /v1/sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chasm.kit.types import JsonBool


class ProxyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="http://host:port of an HTTP proxy")
    username: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, max_length=500)

    @field_validator("url")
    @classmethod
    def _http_proxy_url(cls, url: str) -> str:
        url = url.strip()
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ValueError("the proxy URL's port must be a number from 1 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the proxy URL must look like http://host:port (an HTTP proxy)")
        if port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("the proxy URL must be http://host:port, with no path or query")
        return url


class NetworkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["none", "direct", "proxy"] = "none"
    proxy: ProxyIn | None = None


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_type: str = "sandbox"
    workspace: str | None = Field(default=None, description="workspace name or UUID")
    ephemeral: JsonBool = False
    image: str | None = Field(default=None, max_length=300)
    env: dict[str, str] | None = None
    github_repo: str | None = Field(default=None, max_length=1000)
    network: NetworkIn | None = None


class Endpoints(BaseModel):
    gateway_url: str
    subdomain_url: str | None = None
    pty_url: str | None = Field(description="sandbox sessions: the terminal WebSocket (None for a browser)")
    exec_url: str | None = Field(description="sandbox sessions: run a command (None for a browser)")
    cdp_url: str | None = Field(
        default=None,
        description="browser sessions: the DevTools base URL (its json/version, json/list, json/new and "
        "devtools/ sockets), for chromium.connect_over_cdp",
    )


class SessionOut(BaseModel):
    id: str
    status: str
    session_type: str
    workspace_id: str | None
    ephemeral: bool
    image: str | None
    network_mode: str
    active_connection_leases: int
    endpoints: Endpoints
    access_token: str | None = Field(
        default=None, description="per-session gateway token; shown only in the create response"
    )
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None


class BulkTerminate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_ids: list[str] | None = Field(default=None, max_length=500)
    all: JsonBool = False
    force: JsonBool = False


class BulkTerminateResult(BaseModel):
    terminated: list[str]
    failed: list[dict[str, str]]


class ResizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cols: int = Field(ge=1, le=1000)
    rows: int = Field(ge=1, le=1000)


class ResizeOut(BaseModel):
    cols: int
    rows: int
    terminals: int


class SelfTestOut(BaseModel):
    session_id: str
    workspace_id: str | None
    workspace_root: str
    cwd: str
    path: str
    user: str
    tools: dict[str, str | None]
    exit_code: int | None

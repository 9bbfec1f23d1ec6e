"""Bodies of the exec endpoints and background commands."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chasm.kit.types import JsonBool
from chasm.sessions.schemas import NetworkIn

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_no_nul(value: str | None) -> str | None:
    if value is not None and "\0" in value:
        raise ValueError("must not contain NUL bytes")
    return value


def check_env(env: dict[str, str] | None) -> dict[str, str] | None:
    for name, value in (env or {}).items():
        if not ENV_NAME.fullmatch(name):
            raise ValueError(f"invalid environment variable name {name!r}")
        if "\0" in value:
            raise ValueError(f"environment variable {name!r} contains a NUL byte")
    return env


class ExecIn(BaseModel):
    """Checked here, before any sandbox is started for it (an ephemeral one would be wasted)."""

    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, max_length=100_000, description="run by /bin/sh -c")
    cwd: str | None = Field(default=None, max_length=4096)
    env: dict[str, str] | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000)
    background: JsonBool = False

    _command_nul = field_validator("command", "cwd")(check_no_nul)
    _env = field_validator("env")(check_env)


class AutoExecIn(ExecIn):
    """`POST /v1/exec`: the target is a workspace (its live session, or a new one) or a new
    ephemeral sandbox."""

    workspace: str | None = None
    ephemeral: JsonBool | None = None
    image: str | None = Field(default=None, max_length=300)
    network: NetworkIn | None = None


class ExecOut(BaseModel):
    session_id: str | None = None
    workspace_id: str | None = None
    exit_code: int | None = None
    output: str | None = None
    output_truncated: bool | None = None
    timed_out: bool | None = None
    duration_ms: float | None = None
    command_id: str | None = None
    pid: int | None = None


class CommandOut(BaseModel):
    id: str
    session_id: str
    command: str
    pid: int
    status: str  # running | exited | killed
    exit_code: int | None
    output_bytes: int
    output_truncated: bool
    started_at: datetime
    ended_at: datetime | None


class StdinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(default="", max_length=1024 * 1024)
    eof: bool = False


class KillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: str | int = "TERM"

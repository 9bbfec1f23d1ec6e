"""Typed results of the platform surface (/v1): plain dataclasses built from the server's JSON.

Every result keeps the JSON it came from in `raw` (fields a newer server adds are there before the
client names them); times are `datetime`s."""

from __future__ import annotations

import dataclasses
import types
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

M = TypeVar("M", bound="Model")


@dataclasses.dataclass
class Model:
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False, kw_only=True)

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        values = {}
        for name, hint in _hints(cls).items():  # type: ignore[arg-type]
            if name in data:
                values[name] = _convert(hint, data[name])
        return cls(**values, raw=data)


@cache
def _hints(cls: type[Model]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "raw"}


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        for option in get_args(hint):
            if option is not type(None):
                return _convert(option, value)
    if origin is list and isinstance(value, list):
        (item,) = get_args(hint)
        return [_convert(item, v) for v in value]
    if hint is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Model) and isinstance(value, dict):
        return hint.from_dict(value)
    return value


def models(cls: type[M], items: list[dict[str, Any]]) -> list[M]:
    return [cls.from_dict(item) for item in items]


# Sessions and exec


@dataclasses.dataclass
class Endpoints(Model):
    gateway_url: str = ""
    pty_url: str | None = None  # None for a browser session (no shell)
    exec_url: str | None = None
    subdomain_url: str | None = None
    cdp_url: str | None = None


@dataclasses.dataclass
class SessionInfo(Model):
    """A sandbox or browser session as the server describes it."""

    id: str
    status: str = ""  # creating | running | terminated
    session_type: str = "sandbox"
    workspace_id: str | None = None
    ephemeral: bool = False
    image: str | None = None
    network_mode: str = "none"
    active_connection_leases: int = 0
    endpoints: Endpoints | None = None
    access_token: str | None = None  # only in the answer that created the session
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    ended_reason: str | None = None


@dataclasses.dataclass
class BulkTerminateResult(Model):
    terminated: list[str] = dataclasses.field(default_factory=list)
    failed: list[dict[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SelfTest(Model):
    session_id: str
    workspace_id: str | None = None
    workspace_root: str = ""
    cwd: str = ""
    path: str = ""
    user: str = ""
    tools: dict[str, str | None] = dataclasses.field(default_factory=dict)
    exit_code: int | None = None


@dataclasses.dataclass
class CommandResult(Model):
    """A finished command. `output` is stdout and stderr interleaved as produced (what a foreground
    exec returns); `stdout` and `stderr` apart are known when the command's stream was read (a
    background command's `wait()`), else None."""

    exit_code: int | None = None
    output: str = ""
    stdout: str | None = None
    stderr: str | None = None
    output_truncated: bool = False
    timed_out: bool = False
    duration_ms: float | None = None
    status: str = "exited"  # exited | killed
    session_id: str | None = None
    workspace_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclasses.dataclass
class CommandInfo(Model):
    """A background command's status."""

    id: str
    session_id: str = ""
    command: str = ""
    pid: int = 0
    status: str = ""  # running | exited | killed
    exit_code: int | None = None
    output_bytes: int = 0
    output_truncated: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclasses.dataclass
class OutputChunk:
    """One event of a background command's stream: `stream` is stdout, stderr or exit. `end` is
    the byte offset just past the chunk (resume from it); an exit event carries `exit_code`."""

    stream: str
    data: str
    start: int
    end: int
    exit_code: int | None = None
    status: str | None = None
    output_truncated: bool = False

    @property
    def is_exit(self) -> bool:
        return self.stream == "exit"


@dataclasses.dataclass
class FileInfo(Model):
    path: str
    size: int = 0


@dataclasses.dataclass
class FileEntry:
    """An entry of a sandbox directory; `type` is file, dir, symlink or other."""

    name: str
    path: str
    type: str
    size: int
    modified_at: datetime | None


# Workspaces


@dataclasses.dataclass
class Workspace(Model):
    id: str
    name: str = ""
    session_type: str = "sandbox"
    image: str | None = None
    template: bool = False
    source_workspace_id: str | None = None
    github_repo: str | None = None
    assistant_home: bool = False
    active_session_id: str | None = None
    last_session_id: str | None = None
    status: str = ""
    status_detail: str | None = None
    size_bytes: int = 0
    quota_bytes: int = 0
    created_at: datetime | None = None
    job_id: str | None = None  # an import's clone job


@dataclasses.dataclass
class Snapshot(Model):
    id: str
    name: str = ""
    workspace_id: str = ""
    size_bytes: int = 0
    stored_bytes: int = 0
    file_count: int = 0
    created_at: datetime | None = None


# Jobs, keys, webhooks


@dataclasses.dataclass
class Job(Model):
    FINISHED: ClassVar[frozenset[str]] = frozenset({"succeeded", "failed", "canceled"})

    id: str
    kind: str = ""
    status: str = ""  # queued | running | succeeded | failed | canceled
    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    max_attempts: int = 0
    timeout_s: int = 0
    idempotency_key: str | None = None
    cancel_requested: bool = False
    created_by: str | None = None
    run_at: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


@dataclasses.dataclass
class JobKind(Model):
    kind: str
    description: str = ""
    input_schema: dict[str, Any] = dataclasses.field(default_factory=dict)
    timeout_s: int = 0
    max_attempts: int = 0
    scope: str = ""
    instance_admin: bool = False


@dataclasses.dataclass
class ApiKey(Model):
    """An API key; `key` (the secret) is set only in the answer that created it. `scopes` None
    means full access."""

    id: str
    name: str = ""
    prefix: str = ""
    scopes: list[str] | None = None
    service_account_id: str | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    key: str | None = None


@dataclasses.dataclass
class Webhook(Model):
    id: str
    url: str = ""
    event_types: list[str] = dataclasses.field(default_factory=list)
    description: str | None = None
    enabled: bool = True
    consecutive_failures: int = 0
    secret: str | None = None  # only in the answer that created it
    created_at: datetime | None = None


@dataclasses.dataclass
class Delivery(Model):
    id: str
    webhook_id: str | None = None
    event_type: str = ""
    status: str = ""
    attempts: int = 0
    last_status_code: int | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None

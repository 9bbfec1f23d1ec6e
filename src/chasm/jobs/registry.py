"""The job kinds a server knows: each is an async handler with a pydantic input model.

Domains declare kinds in their `tasks.py` with `@job_kind(...)` and list that module in
`BUILTIN_TASK_MODULES`; the registry imports them on first use. A module that fails to import is
logged and skipped, so one broken domain does not stop the server.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.models import Account

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("chasm.jobs")

# Modules whose import registers job kinds. Domains append their own `chasm.<domain>.tasks`.
BUILTIN_TASK_MODULES: list[str] = [
    "chasm.jobs.tasks",
    "chasm.workspaces.tasks",
    "chasm.sessions.tasks",
    "chasm.exec.tasks",
    "chasm.browser.tasks",
    "chasm.harvest.tasks",
    "chasm.swarms.tasks",
]


class JobFailed(Exception):
    """Raised by a handler whose work ran and failed: the job is failed (no retry), with `result`
    attached as its result (a command's exit code and output) and `message` as its error."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


class JobCanceled(Exception):
    """Raised by `JobContext.check_canceled()` once the job's cancellation was requested."""


@dataclass
class JobContext:
    job_id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    attempt: int  # 1 on the first run
    app: FastAPI  # app.state.sessionmaker, app.state.events, app.state.settings, ...
    _cancel_requested: Callable[[], Awaitable[bool]]

    async def actor(self, db: AsyncSession) -> Actor:
        """Who a job acts as: the job itself, with its account's owner role and every scope
        (the scope was checked when it was enqueued)."""
        account = await db.get(Account, self.account_id)
        assert account is not None
        return Actor("job", self.job_id, account, "owner", None, via="job")

    async def canceled(self) -> bool:
        """Whether someone asked to cancel this job (handlers may stop early and cleanly)."""
        return await self._cancel_requested()

    async def check_canceled(self) -> None:
        if await self.canceled():
            raise JobCanceled()


Handler = Callable[[JobContext, Any], Coroutine[Any, Any, dict[str, Any] | None]]


@dataclass(frozen=True)
class JobKind:
    name: str
    input_model: type[BaseModel]
    handler: Handler
    timeout_s: int
    max_attempts: int
    description: str
    scope: str  # the scope a caller needs to enqueue, cancel or retry it over HTTP
    retry_backoff_s: float  # delay before the 2nd attempt; doubles for each further one
    instance_admin: bool = False  # it reads the server's own files: instance administrators only
    account_admin: bool = False  # an owner or admin of the account (a user, or a full-access key of one)
    http_enqueue: bool = True  # False: only the server enqueues it (its input names server state)
    # Queued again when its worker is lost, whatever its attempts: the handler resumes the work
    # (a command it started survives the worker, and it finds it again by the job's id).
    resumable: bool = False
    sealed: tuple[str, ...] = ()  # input fields holding secrets: encrypted at rest (jobs/sealing.py)


_KINDS: dict[str, JobKind] = {}
_loaded = False


def job_kind(
    name: str,
    input_model: type[BaseModel],
    *,
    timeout_s: int = 300,
    max_attempts: int = 3,
    description: str = "",
    scope: str,
    retry_backoff_s: float = 2.0,
    instance_admin: bool = False,
    http_enqueue: bool = True,
    resumable: bool = False,
    sealed: tuple[str, ...] = (),
    account_admin: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `handler(ctx, input) -> dict` as the job kind `name` (re-registering replaces it).

    Every kind names the scope its callers need (to enqueue it, and to cancel or retry its jobs)."""
    if not scope:
        raise ValueError(f"job kind {name!r} must declare a scope")

    def decorate(handler: Handler) -> Handler:
        doc = description or (handler.__doc__ or "").strip().split("\n")[0]
        _KINDS[name] = JobKind(
            name,
            input_model,
            handler,
            timeout_s,
            max(1, max_attempts),
            doc,
            scope,
            retry_backoff_s,
            instance_admin=instance_admin,
            account_admin=account_admin,
            http_enqueue=http_enqueue,
            resumable=resumable,
            sealed=sealed,
        )
        return handler

    return decorate


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def load_builtin_kinds() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_TASK_MODULES:
        try:
            importlib.import_module(module)
        except Exception:
            log.exception("could not load job kinds from %s; its kinds are unavailable", module)


def get_kind(name: str) -> JobKind | None:
    load_builtin_kinds()
    return _KINDS.get(name)


def all_kinds() -> list[JobKind]:
    load_builtin_kinds()
    return sorted(_KINDS.values(), key=lambda k: k.name)

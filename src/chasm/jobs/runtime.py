"""In-process coordination between the jobs API and this process's workers.

Workers poll the database, so everything here is an accelerator, never needed for correctness:
a commit that enqueues wakes idle workers at once, and a cancel reaches a handler running in this
process without waiting for the worker's next heartbeat.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

_wakeups: set[asyncio.Event] = set()
_running: dict[uuid.UUID, asyncio.Task[Any]] = {}

_HOOKS_KEY = "chasm_jobs_after_commit"


def add_waker(waker: asyncio.Event) -> None:
    _wakeups.add(waker)


def remove_waker(waker: asyncio.Event) -> None:
    _wakeups.discard(waker)


def wake_workers() -> None:
    for waker in list(_wakeups):
        waker.set()


def track_running(job_id: uuid.UUID, task: asyncio.Task[Any]) -> None:
    _running[job_id] = task


def untrack_running(job_id: uuid.UUID) -> None:
    _running.pop(job_id, None)


def cancel_local(job_id: uuid.UUID) -> bool:
    task = _running.get(job_id)
    if task is None or task.done():
        return False
    task.cancel()
    return True


def after_commit(db: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits (dropped on rollback)."""
    sync_session = db.sync_session
    hooks: list[Callable[[], None]] | None = sync_session.info.get(_HOOKS_KEY)
    if hooks is None:
        hooks = []
        sync_session.info[_HOOKS_KEY] = hooks

        def _run(_session: Any) -> None:
            pending = list(hooks)
            hooks.clear()
            for hook in pending:
                hook()

        def _drop(_session: Any, _previous: Any = None) -> None:
            hooks.clear()

        event.listen(sync_session, "after_commit", _run)
        event.listen(sync_session, "after_soft_rollback", _drop)
    hooks.append(callback)

"""Workers: claim due jobs, run their handlers under a timeout, record the outcome.

A worker runs one job at a time; a server runs `settings.embedded_workers` of them and
`chasm worker` runs more in separate processes. While a job runs, its worker renews the job's
lease (`locked_until`) and looks for a cancellation request; a job whose lease ran out (its
worker died) is taken back by any other worker and retried or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.jobs import registry, runtime
from chasm.jobs import repository as repo
from chasm.jobs.registry import JobCanceled, JobContext, JobFailed
from chasm.jobs.sealing import unseal_input
from chasm.jobs.service import JOB_UPDATED, OUTCOME_STATUSES, emit_outcome, event_payload
from chasm.kit.db import transaction
from chasm.kit.events import EventBus
from chasm.kit.timeutil import utcnow
from chasm.models import Job

log = logging.getLogger("chasm.jobs")

LEASE_S = 30.0  # a running job whose worker stayed silent this long is taken back
HEARTBEAT_S = 1.0  # lease renewal and cancellation check while a handler runs
RECOVERY_EVERY_S = 5.0
MAX_BACKOFF_S = 3600.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _local_worker_gone(name: str | None) -> bool:
    """Whether `name` (see worker_name) is a worker of this host whose process has exited."""
    host, _, rest = (name or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():  # a restarted server that got its predecessor's pid (a container)
        return name not in _this_process
    return not os.path.exists(f"/proc/{pid}")


_this_process: set[str] = set()  # names of the workers of this process


def backoff_s(kind: registry.JobKind | None, attempts: int) -> float:
    base = kind.retry_backoff_s if kind is not None else 2.0
    return float(min(MAX_BACKOFF_S, base * 2 ** max(0, attempts - 1)))


class Worker:
    def __init__(self, app: FastAPI, name: str | None = None, poll_interval_s: float | None = None) -> None:
        self.app = app
        self.name = name or worker_name()
        _this_process.add(self.name)
        self.poll_interval_s = poll_interval_s or app.state.settings.job_poll_interval_s
        self._waker = asyncio.Event()
        self._last_recovery = 0.0

    @property
    def maker(self) -> async_sessionmaker[AsyncSession]:
        maker: async_sessionmaker[AsyncSession] = self.app.state.sessionmaker
        return maker

    @property
    def bus(self) -> EventBus | None:
        return getattr(self.app.state, "events", None)

    async def run(self) -> None:
        """Work until cancelled."""
        runtime.add_waker(self._waker)
        try:
            while True:
                try:
                    worked = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job worker %s hit an error; continuing", self.name)
                    worked = False
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._waker.wait(), self.poll_interval_s)
                    self._waker.clear()
        finally:
            runtime.remove_waker(self._waker)

    async def run_once(self) -> bool:
        """Claim and run at most one due job; answers whether one ran."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_recovery >= RECOVERY_EVERY_S:
            self._last_recovery = loop.time()
            await self.recover_expired()
        async with transaction(self.maker) as db:
            candidates = await repo.due_job_ids(db, utcnow(), 20)
        random.shuffle(candidates)  # concurrent workers then rarely race for the same row
        for job_id in candidates:
            now = utcnow()
            async with transaction(self.maker) as db:
                claimed = await repo.claim(db, job_id, self.name, now, now + timedelta(seconds=LEASE_S))
            if claimed:
                await self.execute(job_id)
                return True
        return False

    async def recover_expired(self) -> None:
        """Take back the jobs of lost workers: leases that ran out, and at once those of a worker
        of this host whose process is gone (a server killed and restarted). A resumable kind is
        queued again whatever its attempts: its handler picks up the work where it was."""
        now = utcnow()
        async with transaction(self.maker) as db:
            for job in await repo.expired_running(db, now, f"{socket.gethostname()}:"):
                dead = _local_worker_gone(job.locked_by)
                if job.locked_until is not None and job.locked_until >= now and not dead:
                    continue
                kind = registry.get_kind(job.kind)
                values: dict[str, Any]
                if job.cancel_requested:
                    values = {"status": "canceled", "error": "canceled", "finished_at": now}
                elif kind is not None and kind.resumable:
                    values = {
                        "status": "queued",
                        "error": "worker lost",
                        "run_at": now,
                        "attempts": Job.attempts - 1,
                    }
                elif job.attempts >= job.max_attempts:
                    values = {"status": "failed", "error": "worker lost", "finished_at": now}
                else:
                    values = {"status": "queued", "error": "worker lost", "run_at": now}
                if await repo.release_expired(db, job, now, worker_dead=dead, **values):
                    if values["status"] in OUTCOME_STATUSES:
                        await emit_outcome(db, job.id)
                    log.warning("job %s of a lost worker (%s): %s", job.id, job.locked_by, values["status"])

    async def _publish(self, job_id: uuid.UUID) -> None:
        bus = self.bus
        if bus is None:
            return
        async with self.maker() as db:
            job = await repo.get_any(db, job_id)
        if job is not None:
            try:
                await bus.publish(JOB_UPDATED, event_payload(job))
            except Exception:
                log.exception("could not publish %s for job %s", JOB_UPDATED, job_id)

    async def _finish(self, job_id: uuid.UUID, **values: Any) -> None:
        values["updated_at"] = utcnow()
        async with transaction(self.maker) as db:
            if not await repo.finish(db, job_id, self.name, **values):
                log.warning("job %s was taken from worker %s before it finished", job_id, self.name)
            elif values.get("status") in OUTCOME_STATUSES:
                await emit_outcome(db, job_id)
        await self._publish(job_id)

    async def execute(self, job_id: uuid.UUID) -> None:
        try:
            await self._execute(job_id)
        except asyncio.CancelledError:
            # The worker is stopping, wherever the job was (loading, running, finishing): hand it
            # back without charging the attempt. A job that already left `running` is not touched.
            await self._finish(job_id, status="queued", attempts=Job.attempts - 1, run_at=utcnow())
            raise

    async def _execute(self, job_id: uuid.UUID) -> None:
        async with self.maker() as db:
            job = await repo.get_any(db, job_id)
        assert job is not None
        await self._publish(job_id)
        kind = registry.get_kind(job.kind)
        if kind is None:
            await self._finish(
                job_id, status="failed", error=f"unknown job kind '{job.kind}'", finished_at=utcnow()
            )
            return
        try:
            data = kind.input_model.model_validate(unseal_input(self.app.state.secret_key, job.input))
        except ValueError as exc:  # a ValidationError, or input sealed with another server secret
            await self._finish(job_id, status="failed", error=f"invalid input: {exc}", finished_at=utcnow())
            return
        outcome, detail = await self._run_handler(job, kind, data)
        now = utcnow()
        if isinstance(detail, JobFailed):
            await self._finish(
                job_id, status="failed", result=detail.result, error=detail.message, finished_at=now
            )
        elif outcome == "succeeded":
            await self._finish(job_id, status="succeeded", result=detail, error=None, finished_at=now)
        elif outcome == "canceled":
            await self._finish(job_id, status="canceled", error="canceled", finished_at=now)
        elif outcome == "lost":
            return
        elif job.attempts < job.max_attempts:
            run_at = now + timedelta(seconds=backoff_s(kind, job.attempts))
            await self._finish(job_id, status="queued", error=detail, run_at=run_at)
        else:
            await self._finish(job_id, status="failed", error=detail, finished_at=now)

    async def _run_handler(self, job: Job, kind: registry.JobKind, data: Any) -> tuple[str, Any]:
        """Run the handler: succeeded (result), failed (error, or the handler's JobFailed),
        canceled or lost (None)."""

        async def cancel_requested() -> bool:
            async with self.maker() as db:
                current = await repo.get_any(db, job.id)
            return bool(current is not None and current.cancel_requested)

        ctx = JobContext(job.id, job.account_id, job.kind, job.attempts, self.app, cancel_requested)
        task = asyncio.create_task(kind.handler(ctx, data), name=f"job-{job.id}")
        runtime.track_running(job.id, task)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + job.timeout_s
        stop: str | None = None
        try:
            while not task.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    stop = "timeout"
                    break
                await asyncio.wait({task}, timeout=min(HEARTBEAT_S, remaining))
                if task.done():
                    break
                async with transaction(self.maker) as db:
                    status = await repo.heartbeat(
                        db, job.id, self.name, utcnow() + timedelta(seconds=LEASE_S)
                    )
                if status is None:
                    stop = "lost"
                    break
                if status:
                    stop = "canceled"
                    break
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        finally:
            runtime.untrack_running(job.id)
        if stop is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            if stop == "timeout":
                return "failed", "timeout"
            return stop, None
        if task.cancelled():
            return "canceled", None  # cancelled in process by POST /v1/jobs/{id}/cancel
        exc = task.exception()
        if isinstance(exc, JobCanceled):
            return "canceled", None
        if isinstance(exc, JobFailed):
            return "failed", exc
        if exc is not None:
            log.warning("job %s (%s) attempt %s failed: %r", job.id, job.kind, job.attempts, exc)
            return "failed", f"{type(exc).__name__}: {exc}"
        result = task.result()
        if result is None:
            return "succeeded", {}
        return "succeeded", result if isinstance(result, dict) else {"value": result}


async def run_workers(app: FastAPI, count: int) -> None:
    """Run `count` workers until cancelled."""
    registry.load_builtin_kinds()
    async with asyncio.TaskGroup() as group:
        for index in range(count):
            group.create_task(Worker(app).run(), name=f"chasm-job-worker-{index}")


@asynccontextmanager
async def jobs_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's embedded workers (`settings.embedded_workers`, 0 to leave jobs to `chasm worker`)."""
    count = app.state.settings.embedded_workers
    registry.load_builtin_kinds()
    tasks = [asyncio.create_task(Worker(app).run(), name=f"chasm-job-worker-{i}") for i in range(count)]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

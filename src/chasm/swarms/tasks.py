"""The job kind of swarm runs: `swarm.run` drives a run from its recorded steps to its end, or
until it is paused or stopped. Resumable: a server that dies under it queues it again, and the
next worker goes on from the last recorded step."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from chasm.agents import repository as agents_repo
from chasm.agents.runner import Interrupted, Runner
from chasm.auth.actor import Actor
from chasm.auth.delegation import Delegated, act_as
from chasm.jobs.registry import JobContext, job_kind
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.kit.timeutil import utcnow
from chasm.models import Account, Job, Swarm, SwarmRun
from chasm.swarms import engine
from chasm.swarms import repository as repo
from chasm.swarms.service import JOB_KIND, RUN_TOPIC, members

WAIT_PREVIOUS_S = 0.1


class SwarmRunInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    swarm_run_id: uuid.UUID
    after_job_id: uuid.UUID | None = None  # the job that drove the run before a pause
    # Who started (or resumed) the run: its model and tool calls act as them. Absent in jobs
    # enqueued before it was recorded: those act as the job.
    principal: Delegated | None = None


async def _previous_done(ctx: JobContext, job_id: uuid.UUID | None) -> None:
    """Wait for the job that drove the run before (it ends after its step under way)."""
    if job_id is None:
        return
    while True:
        async with ctx.app.state.sessionmaker() as db:
            job = await db.get(Job, job_id)
        if job is None or job.status not in ("queued", "running"):
            return
        await asyncio.sleep(WAIT_PREVIOUS_S)


async def _acting(ctx: JobContext, db: Any, principal: Delegated | None) -> Actor:
    if principal is None:
        return await ctx.actor(db)
    account = await db.get(Account, ctx.account_id)
    assert account is not None
    return await act_as(db, account, principal)


async def _refuse(db: Any, run: SwarmRun, exc: ChasmError) -> None:
    now = utcnow()
    run.status, run.error, run.updated_at, run.finished_at = "failed", f"{exc.code}: {exc.message}", now, now
    for agent_run in await agents_repo.runs_of_swarm_run(db, run.id):
        if agent_run.status not in ("completed", "failed", "stopped"):
            agent_run.status, agent_run.error, agent_run.error_code = "failed", exc.message, exc.code
            agent_run.updated_at = agent_run.finished_at = now


async def _finish(ctx: JobContext, run_id: uuid.UUID, **values: Any) -> str:
    async with transaction(ctx.app.state.sessionmaker) as db:
        run = await db.get(SwarmRun, run_id)
        assert run is not None
        if run.status == "running":  # a stop that came meanwhile is kept
            for key, value in values.items():
                setattr(run, key, value)
            run.updated_at = run.finished_at = utcnow()
        status = run.status
        payload = {"swarm_id": str(run.swarm_id), "run_id": str(run.id), "account_id": str(run.account_id)}
    bus = getattr(ctx.app.state, "events", None)
    if bus is not None:
        await bus.publish(RUN_TOPIC, {**payload, "status": status})
    return status


@job_kind(
    JOB_KIND,
    SwarmRunInput,
    timeout_s=24 * 3600,
    max_attempts=1,
    description="Drive a swarm run (POST /api/v1/swarms/{id}/start and resume make it)",
    scope="chats.write",
    http_enqueue=False,
    resumable=True,
)
async def run_swarm(ctx: JobContext, data: SwarmRunInput) -> dict[str, Any]:
    await _previous_done(ctx, data.after_job_id)
    async with transaction(ctx.app.state.sessionmaker) as db:
        run = await db.get(SwarmRun, data.swarm_run_id)
        if run is None or run.job_id != ctx.job_id or run.status not in ("created", "running"):
            return {"swarm_run_id": str(data.swarm_run_id), "status": run.status if run else "deleted"}
        swarm_id = run.swarm_id
        try:
            actor = await _acting(ctx, db, data.principal)
        except ChasmError as exc:  # its caller may no longer act: the run fails, nothing runs
            await _refuse(db, run, exc)
            refused: ChasmError | None = exc
        else:
            refused = None
            run.status, run.updated_at = "running", utcnow()
    if refused is not None:
        await _finish(ctx, data.swarm_run_id)  # announces the failure
        return {"swarm_run_id": str(data.swarm_run_id), "status": "failed", "error": refused.message}
    async with ctx.app.state.sessionmaker() as db:
        swarm = await db.get(Swarm, swarm_id)
        assert swarm is not None
        _coordinator, workers = await members(db, swarm)
        root = await repo.coordinator_run_id(db, run.id)
        assert root is not None
    control = engine.control_of(ctx.app, data.swarm_run_id, ctx.job_id)
    delegate = engine.delegate_tool(ctx.app, actor, root, workers, control)
    try:
        done = await Runner(ctx.app, actor, root, control=control, extra_tools={"delegate": delegate}).drive()
    except Interrupted as stop:
        return {"swarm_run_id": str(data.swarm_run_id), "status": stop.state}
    except ChasmError as exc:
        status = await _finish(ctx, data.swarm_run_id, status="failed", error=f"{exc.code}: {exc.message}")
        return {"swarm_run_id": str(data.swarm_run_id), "status": status, "error": exc.message}
    status = await _finish(ctx, data.swarm_run_id, status="completed", answer=done.answer)
    return {"swarm_run_id": str(data.swarm_run_id), "status": status}

"""Swarms of an account, and the control of their runs: start (a durable job), pause (between
steps), resume (a new job going on from the recorded steps), stop (the job canceled)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.agents import repository as agents_repo
from chasm.agents import runs as agent_runs
from chasm.agents import service as agents
from chasm.agents.exceptions import AgentNotFound
from chasm.agents.schemas import RunError
from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.auth.delegation import delegate
from chasm.jobs import runtime as jobs_runtime
from chasm.jobs import service as jobs
from chasm.kit.events import EventBus
from chasm.kit.timeutil import utcnow
from chasm.models import Agent, Swarm, SwarmRun
from chasm.swarms import repository as repo
from chasm.swarms.exceptions import SwarmNameTaken, SwarmNotFound, SwarmRunConflict, UnknownMember
from chasm.swarms.schemas import CreateSwarm, SwarmRead, SwarmRunRead, SwarmStepRead

RUN_TOPIC = "swarm.run"
JOB_KIND = "swarm.run"
ACTIVE = ("created", "running", "paused")


async def _member(db: AsyncSession, actor: Actor, selector: str, what: str) -> Agent:
    try:
        return await agents.get_agent(db, actor, selector)
    except AgentNotFound:
        raise UnknownMember(f"The {what} '{selector}' is not an agent of this account") from None


async def _swarm(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID) -> Swarm:
    swarm = await repo.get_swarm(db, actor.account_id, swarm_id)
    if swarm is None:
        raise SwarmNotFound()
    return swarm


async def members(db: AsyncSession, swarm: Swarm) -> tuple[Agent | None, list[Agent]]:
    """The coordinator and the workers that still exist, workers in the swarm's order."""
    ids = [swarm.coordinator_id, *(uuid.UUID(w) for w in swarm.worker_ids or [])]
    found = {a.id: a for a in await agents_repo.agents_by_ids(db, swarm.account_id, ids)}
    workers = [found[i] for i in ids[1:] if i in found]
    return found.get(swarm.coordinator_id), workers


async def run_out(db: AsyncSession, run: SwarmRun) -> SwarmRunRead:
    agent_rows = await agents_repo.runs_of_swarm_run(db, run.id)
    steps = await agents_repo.steps(db, [r.id for r in agent_rows])
    names = {r.id: r.agent_name for r in agent_rows}
    by_run: dict[uuid.UUID, list[Any]] = {}
    for step in steps:
        by_run.setdefault(step.run_id, []).append(step)
    return SwarmRunRead(
        id=run.id,
        swarm_id=run.swarm_id,
        status=run.status,
        prompt=run.prompt,
        answer=run.answer,
        error=RunError(code="swarm_run_failed", message=run.error) if run.error else None,
        chat_id=run.chat_id,
        job_id=run.job_id,
        agents=[agent_runs.run_out(r, by_run.get(r.id, [])) for r in agent_rows],
        steps=[
            SwarmStepRead(**agent_runs.step_out(s).model_dump(), agent=names[s.run_id], run_id=s.run_id)
            for s in steps
        ],
        created_at=run.created_at,
        updated_at=run.updated_at,
        finished_at=run.finished_at,
    )


async def swarm_out(db: AsyncSession, swarm: Swarm, with_run: bool = True) -> SwarmRead:
    coordinator, workers = await members(db, swarm)
    latest = await repo.latest_run(db, swarm.id)
    return SwarmRead(
        id=swarm.id,
        name=swarm.name,
        description=swarm.description,
        coordinator=coordinator.name if coordinator else "",
        coordinator_id=swarm.coordinator_id,
        workers=[w.name for w in workers],
        worker_ids=[uuid.UUID(w) for w in swarm.worker_ids or []],
        status=latest.status if latest else None,
        run=await run_out(db, latest) if latest is not None and with_run else None,
        created_at=swarm.created_at,
        updated_at=swarm.updated_at,
    )


async def list_swarms(db: AsyncSession, actor: Actor) -> list[SwarmRead]:
    return [await swarm_out(db, s, with_run=False) for s in await repo.list_swarms(db, actor.account_id)]


async def create_swarm(db: AsyncSession, actor: Actor, body: CreateSwarm) -> SwarmRead:
    if await repo.swarm_by_name(db, actor.account_id, body.name) is not None:
        raise SwarmNameTaken(body.name)
    coordinator = await _member(db, actor, body.coordinator, "coordinator")
    workers: list[Agent] = []
    for selector in body.workers:
        worker = await _member(db, actor, selector, "worker")
        if worker.id == coordinator.id:
            raise UnknownMember(f"'{worker.name}' is the coordinator; it cannot also be a worker")
        if worker not in workers:
            workers.append(worker)
    now = utcnow()
    swarm = Swarm(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        name=body.name,
        name_key=body.name.lower(),
        description=body.description,
        coordinator_id=coordinator.id,
        worker_ids=[str(w.id) for w in workers],
        created_at=now,
        updated_at=now,
    )
    db.add(swarm)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:
        raise SwarmNameTaken(body.name) from exc
    record(db, actor, "swarm.create", "swarm", swarm.id, summary=f"created swarm {swarm.name}")
    return await swarm_out(db, swarm)


async def get_swarm(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID) -> SwarmRead:
    return await swarm_out(db, await _swarm(db, actor, swarm_id))


async def delete_swarm(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID) -> SwarmRead:
    swarm = await _swarm(db, actor, swarm_id)
    latest = await repo.latest_run(db, swarm.id)
    if latest is not None and latest.status in ACTIVE:
        raise SwarmRunConflict(f"Swarm '{swarm.name}' has a {latest.status} run; stop it first")
    out = await swarm_out(db, swarm, with_run=False)
    await db.delete(swarm)
    await db.flush()
    record(db, actor, "swarm.delete", "swarm", swarm.id, summary=f"deleted swarm {swarm.name}")
    return out


def _publish(db: AsyncSession, bus: EventBus | None, run: SwarmRun) -> None:
    if bus is None:
        return
    payload = {
        "swarm_id": str(run.swarm_id),
        "run_id": str(run.id),
        "account_id": str(run.account_id),
        "status": run.status,
    }

    def publish() -> None:
        import asyncio

        task = asyncio.get_running_loop().create_task(bus.publish(RUN_TOPIC, payload))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    jobs_runtime.after_commit(db, publish)


_pending: set[Any] = set()


async def _enqueue(db: AsyncSession, actor: Actor, run: SwarmRun, after: uuid.UUID | None) -> None:
    job = await jobs.enqueue(
        db,
        account_id=actor.account_id,
        kind=JOB_KIND,
        input={
            "swarm_run_id": str(run.id),
            "after_job_id": str(after) if after else None,
            # the run acts as its caller (key scopes, account), not with the job's full identity
            "principal": delegate(actor).model_dump(mode="json"),
        },
        created_by=jobs.principal_of(actor),
    )
    run.job_id = job.id


async def start(
    db: AsyncSession, actor: Actor, swarm_id: uuid.UUID, prompt: str, bus: EventBus | None
) -> SwarmRunRead:
    swarm = await _swarm(db, actor, swarm_id)
    latest = await repo.latest_run(db, swarm.id)
    if latest is not None and latest.status in ACTIVE:
        raise SwarmRunConflict(f"Swarm '{swarm.name}' has a {latest.status} run; stop it or wait for it")
    coordinator, workers = await members(db, swarm)
    if coordinator is None or len(workers) != len(swarm.worker_ids or []):
        raise UnknownMember(f"An agent of swarm '{swarm.name}' was deleted; recreate the swarm")
    now = utcnow()
    run = SwarmRun(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        swarm_id=swarm.id,
        status="created",
        prompt=prompt,
        created_at=now,
        updated_at=now,
    )
    db.add(run)
    await db.flush()
    root = await agent_runs.create_run(
        db,
        actor,
        coordinator,
        prompt,
        workspace=agent_runs.agent_workspace("swarm", swarm.name),
        title=f"Swarm {swarm.name}: {prompt.strip().splitlines()[0][:200]}",
        links={"swarm_run_id": run.id},
    )
    run.chat_id = root.chat_id
    await _enqueue(db, actor, run, None)
    await db.flush()
    record(db, actor, "swarm.start", "swarm", swarm.id, metadata={"run_id": str(run.id)})
    _publish(db, bus, run)
    return await run_out(db, run)


async def _current(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID) -> tuple[Swarm, SwarmRun]:
    swarm = await _swarm(db, actor, swarm_id)
    run = await repo.latest_run(db, swarm.id)
    if run is None:
        raise SwarmRunConflict(f"Swarm '{swarm.name}' has never been started")
    return swarm, run


async def pause(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID, bus: EventBus | None) -> SwarmRunRead:
    """The run stops after the step under way (its job ends); resume goes on from there."""
    swarm, run = await _current(db, actor, swarm_id)
    if run.status not in ("created", "running"):
        raise SwarmRunConflict(f"Swarm '{swarm.name}' is {run.status}; only a running swarm can be paused")
    run.status, run.updated_at = "paused", utcnow()
    await db.flush()
    record(db, actor, "swarm.pause", "swarm", swarm.id, metadata={"run_id": str(run.id)})
    _publish(db, bus, run)
    return await run_out(db, run)


async def resume(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID, bus: EventBus | None) -> SwarmRunRead:
    """A new job drives the run on from its recorded steps (after the previous job has ended)."""
    swarm, run = await _current(db, actor, swarm_id)
    if run.status != "paused":
        raise SwarmRunConflict(f"Swarm '{swarm.name}' is {run.status}; only a paused swarm can be resumed")
    run.status, run.updated_at = "running", utcnow()
    await _enqueue(db, actor, run, run.job_id)
    await db.flush()
    record(db, actor, "swarm.resume", "swarm", swarm.id, metadata={"run_id": str(run.id)})
    _publish(db, bus, run)
    return await run_out(db, run)


async def stop(db: AsyncSession, actor: Actor, swarm_id: uuid.UUID, bus: EventBus | None) -> SwarmRunRead:
    """Cancel the run: its job is canceled (a model or tool call under way is interrupted), every
    unfinished agent run of it is marked stopped, and its sandbox sessions end."""
    swarm, run = await _current(db, actor, swarm_id)
    if run.status not in ACTIVE:
        raise SwarmRunConflict(f"Swarm '{swarm.name}' is {run.status}; there is nothing to stop")
    now = utcnow()
    run.status, run.updated_at, run.finished_at = "stopped", now, now
    for agent_run in await agents_repo.runs_of_swarm_run(db, run.id):
        if agent_run.status not in ("completed", "failed", "stopped"):
            agent_run.status, agent_run.finished_at, agent_run.updated_at = "stopped", now, now
    if run.job_id is not None:
        job = await jobs.get_job(db, actor, run.job_id)
        if job.status in ("queued", "running"):
            await jobs.cancel_job(db, actor, run.job_id, bus)
    await db.flush()
    record(db, actor, "swarm.stop", "swarm", swarm.id, metadata={"run_id": str(run.id)})
    _publish(db, bus, run)
    return await run_out(db, run)

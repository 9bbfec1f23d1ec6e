"""How a swarm run works: the coordinator's run, given a `delegate` tool naming the workers; each
delegation is a worker's run (a child chat of the coordinator's), found again by the delegate
call's id when the swarm run resumes, so a finished delegation is never done twice. Between
steps every run asks the swarm run's state: paused or stopped ends the drive there."""

from __future__ import annotations

import uuid
from typing import Any

from chasm.agents import repository as agents_repo
from chasm.agents import runs as agent_runs
from chasm.agents.runner import Control, Interrupted, Runner
from chasm.agents.toolbox import ExtraTool, Outcome
from chasm.auth.actor import Actor
from chasm.kit.db import transaction
from chasm.kit.errors import ChasmError
from chasm.models import Agent, AgentRun, Chat, SwarmRun
from chasm.providers.llm import ToolSpec


def control_of(app: Any, swarm_run_id: uuid.UUID, job_id: uuid.UUID) -> Control:
    async def check() -> None:
        async with app.state.sessionmaker() as db:
            run = await db.get(SwarmRun, swarm_run_id)
        if run is None:
            raise Interrupted("stopped")
        if run.status in ("paused", "stopped"):
            raise Interrupted(run.status)
        if run.job_id != job_id:
            raise Interrupted("superseded")

    return check


def _delegate_spec(workers: list[Agent]) -> ToolSpec:
    roster = "\n".join(
        f"- {w.name}" + (f" ({w.role})" if w.role else "") + (f": {w.description}" if w.description else "")
        for w in workers
    )
    return ToolSpec(
        "delegate",
        "Give a sub-task to one of your workers and get its answer back. Your workers:\n" + roster,
        {
            "type": "object",
            "properties": {
                "worker": {"type": "string", "enum": [w.name for w in workers], "description": "who does it"},
                "task": {"type": "string", "description": "the sub-task, with everything the worker needs"},
            },
            "required": ["worker", "task"],
            "additionalProperties": False,
        },
    )


def delegate_tool(
    app: Any, actor: Actor, root_run_id: uuid.UUID, workers: list[Agent], control: Control
) -> ExtraTool:
    by_name = {w.name.lower(): w for w in workers}

    async def delegate(call_id: str, arguments: dict[str, Any]) -> Outcome:
        name, task = arguments.get("worker"), arguments.get("task")
        unknown = set(arguments) - {"worker", "task"}
        if unknown:
            return Outcome(f"invalid_arguments: unknown arguments {', '.join(sorted(unknown))}", True)
        if not isinstance(task, str) or not task.strip():
            return Outcome("invalid_arguments: task must be a non-empty string", True)
        worker = by_name.get(name.lower()) if isinstance(name, str) else None
        if worker is None:
            roster = ", ".join(w.name for w in workers)
            return Outcome(f"unknown_worker: there is no worker '{name}'; your workers: {roster}", True)
        child = await _child_run(app, actor, root_run_id, call_id, worker, task)
        try:
            done = await Runner(app, actor, child, control=control).drive()
        except Interrupted:
            raise
        except ChasmError as exc:
            return Outcome(f"worker_failed: {worker.name} failed: {exc.message}", True)
        return Outcome(done.answer or "", False)

    return ExtraTool(_delegate_spec(workers), delegate)


async def _child_run(
    app: Any, actor: Actor, root_run_id: uuid.UUID, call_id: str, worker: Agent, task: str
) -> uuid.UUID:
    """The worker's run for this delegate call: the one recorded, else a new one (a child chat)."""
    async with transaction(app.state.sessionmaker) as db:
        existing = await agents_repo.child_run(db, root_run_id, call_id)
        if existing is not None:
            return existing.id
        root = await db.get(AgentRun, root_run_id)
        assert root is not None
        parent_chat = await db.get(Chat, root.chat_id) if root.chat_id else None
        run = await agent_runs.create_run(
            db,
            actor,
            worker,
            task,
            workspace=root.workspace or agent_runs.agent_workspace("agent", worker.name),
            parent_chat=parent_chat,
            links={"swarm_run_id": root.swarm_run_id, "parent_run_id": root.id, "parent_call_id": call_id},
        )
        return run.id

"""Job kinds of the sandbox domains: session.terminate, session.bulk_terminate, sandbox.exec,
pipeline.run. Commands are not idempotent, so exec and pipeline jobs run once (no retry)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.exec import service as exec_service
from chasm.exec.schemas import AutoExecIn, ExecIn
from chasm.jobs.registry import JobContext, job_kind
from chasm.kit.db import transaction
from chasm.models import Account
from chasm.sessions import service
from chasm.sessions.runtime import runtime_of
from chasm.sessions.schemas import BulkTerminate


class TerminateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str
    force: bool = False


class ExecTarget(BaseModel):
    """Where a command runs: an existing session, a workspace's session, or a new ephemeral one."""

    model_config = ConfigDict(extra="forbid")
    session_id: str | None = None
    workspace: str | None = None
    ephemeral: bool | None = None
    image: str | None = Field(default=None, max_length=300)


class SandboxExecInput(ExecTarget):
    command: str = Field(min_length=1, max_length=100_000)
    cwd: str | None = None
    env: dict[str, str] | None = None
    timeout_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, max_length=100_000)
    timeout_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000)
    cwd: str | None = None


class PipelineInput(ExecTarget):
    steps: list[Step] = Field(min_length=1, max_length=100)
    env: dict[str, str] | None = None


async def _job_actor(db: AsyncSession, ctx: JobContext) -> Actor:
    account = await db.get(Account, ctx.account_id)
    assert account is not None
    return Actor("job", ctx.job_id, account, "owner", None, via="job")


@job_kind(
    "session.terminate",
    TerminateInput,
    timeout_s=120,
    description="Terminate a session (force ends it even with open connections)",
    scope="sessions.write",
)
async def run_terminate(ctx: JobContext, data: TerminateInput) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await _job_actor(db, ctx)
        row = await service.get_session(db, actor, data.session_id)
        await service.terminate(db, actor, runtime, row, data.force)
        return {"session_id": str(row.id), "status": row.status, "ended_reason": row.ended_reason}


@job_kind(
    "session.bulk_terminate",
    BulkTerminate,
    timeout_s=600,
    description="Terminate several sessions, or all live ones",
    scope="sessions.write",
)
async def run_bulk_terminate(ctx: JobContext, data: BulkTerminate) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await _job_actor(db, ctx)
        return (await service.bulk_terminate(db, actor, runtime, data)).model_dump()


async def _exec(ctx: JobContext, target: ExecTarget, body: ExecIn) -> dict[str, Any]:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await _job_actor(db, ctx)
        if target.session_id:
            row = await service.get_running(db, actor, target.session_id, runtime)
            out = await exec_service.run(db, actor, runtime, row, body)
        else:
            auto = AutoExecIn(
                **body.model_dump(),
                workspace=target.workspace,
                ephemeral=target.ephemeral,
                image=target.image,
            )
            out = await exec_service.auto_exec(db, actor, runtime, auto)
        return out.model_dump(exclude_none=True)


@job_kind(
    "sandbox.exec",
    SandboxExecInput,
    timeout_s=24 * 3600,
    max_attempts=1,
    description="Run one command in a session, a workspace's session or a new ephemeral sandbox",
    scope="exec.write",
)
async def run_sandbox_exec(ctx: JobContext, data: SandboxExecInput) -> dict[str, Any]:
    body = ExecIn(command=data.command, cwd=data.cwd, env=data.env, timeout_ms=data.timeout_ms)
    return await _exec(ctx, data, body)


@job_kind(
    "pipeline.run",
    PipelineInput,
    timeout_s=24 * 3600,
    max_attempts=1,
    description="Run ordered steps in one session; stop at the first step that fails",
    scope="exec.write",
)
async def run_pipeline(ctx: JobContext, data: PipelineInput) -> dict[str, Any]:
    target = data
    results: list[dict[str, Any]] = []
    for index, step in enumerate(data.steps):
        await ctx.check_canceled()
        body = ExecIn(command=step.command, cwd=step.cwd, env=data.env, timeout_ms=step.timeout_ms)
        result = await _exec(ctx, target, body)
        results.append({"step": index, "command": step.command, **result})
        # Every later step runs in the session the first one used.
        target = PipelineInput(session_id=result["session_id"], steps=data.steps)
        if result.get("exit_code") != 0:
            return {
                "session_id": result["session_id"],
                "succeeded": False,
                "failed_step": index,
                "steps": results,
            }
    return {"session_id": results[-1]["session_id"], "succeeded": True, "failed_step": None, "steps": results}

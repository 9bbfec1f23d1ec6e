"""Job kinds of exec: sandbox.exec, pipeline.run. Commands are not idempotent, so these jobs run
once (no retry). They are resumable: each command runs as a logged background command named
after the job (and step), kept by the sandbox's agent, so when the server dies under the job the
restarted server's worker finds the command (running or ended) and records its real outcome
instead of "worker lost"."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chasm.exec import service as exec_service
from chasm.exec.schemas import AutoExecIn, ExecIn, check_env, check_no_nul
from chasm.jobs.registry import JobContext, JobFailed, job_kind
from chasm.kit.db import transaction
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service


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

    _nul = field_validator("command", "cwd")(check_no_nul)
    _env = field_validator("env")(check_env)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, max_length=100_000)
    timeout_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000)
    cwd: str | None = None

    _nul = field_validator("command", "cwd")(check_no_nul)


class PipelineInput(ExecTarget):
    steps: list[Step] = Field(min_length=1, max_length=100)
    env: dict[str, str] | None = None

    _env = field_validator("env")(check_env)


async def _exec(
    ctx: JobContext, target: ExecTarget, body: ExecIn, command_id: str, keep_sandbox: bool = False
) -> dict[str, Any]:
    """Run `body` as the command `command_id`, or wait again for it when it was started by an
    earlier run of this job whose worker (server) died: the command and its outcome survive."""
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        actor = await ctx.actor(db)
        started = runtime.commands.find(command_id)
        session_id = started.session_id if started is not None else target.session_id
        if session_id:
            row = await service.get_running(db, actor, session_id, runtime, session_type="sandbox")
            out = await exec_service.run_resumable(db, actor, runtime, row, body, command_id)
        else:
            auto = AutoExecIn(
                **body.model_dump(),
                workspace=target.workspace,
                ephemeral=target.ephemeral,
                image=target.image,
            )
            out = await exec_service.auto_exec(
                db, actor, runtime, auto, command_id=command_id, keep_sandbox=keep_sandbox
            )
        return out.model_dump(exclude_none=True)


@job_kind(
    "sandbox.exec",
    SandboxExecInput,
    timeout_s=24 * 3600,
    max_attempts=1,
    resumable=True,
    description="Run one command in a session, a workspace's session or a new ephemeral sandbox",
    scope="exec.write",
    sealed=("env",),
)
async def run_sandbox_exec(ctx: JobContext, data: SandboxExecInput) -> dict[str, Any]:
    body = ExecIn(command=data.command, cwd=data.cwd, env=data.env, timeout_ms=data.timeout_ms)
    result = await _exec(ctx, data, body, f"job_{ctx.job_id.hex}")
    if result.get("exit_code") != 0:
        what = "timed out" if result.get("timed_out") else f"exited with {result.get('exit_code')}"
        raise JobFailed(f"the command {what}", result)
    return result


@job_kind(
    "pipeline.run",
    PipelineInput,
    timeout_s=24 * 3600,
    max_attempts=1,
    resumable=True,
    description="Run ordered steps in one session; stop at the first step that fails",
    scope="exec.write",
    sealed=("env",),
)
async def run_pipeline(ctx: JobContext, data: PipelineInput) -> dict[str, Any]:
    target = data
    disposable = not data.session_id and not data.workspace  # its sandbox ends with the pipeline
    results: list[dict[str, Any]] = []
    try:
        for index, step in enumerate(data.steps):
            await ctx.check_canceled()
            body = ExecIn(command=step.command, cwd=step.cwd, env=data.env, timeout_ms=step.timeout_ms)
            result = await _exec(ctx, target, body, f"job_{ctx.job_id.hex}_{index}", keep_sandbox=True)
            results.append({"step": index, "command": step.command, **result})
            # Every later step runs in the session the first one used.
            target = PipelineInput(session_id=result["session_id"], steps=data.steps)
            if result.get("exit_code") != 0:
                outcome = {
                    "session_id": result["session_id"],
                    "succeeded": False,
                    "failed_step": index,
                    "steps": results,
                }
                raise JobFailed(f"step {index} exited with {result.get('exit_code')}", outcome)
    finally:
        if disposable and results:
            await _end_disposable(ctx, results[0]["session_id"])
    return {"session_id": results[-1]["session_id"], "succeeded": True, "failed_step": None, "steps": results}


async def _end_disposable(ctx: JobContext, session_id: str) -> None:
    runtime = runtime_of(ctx.app)
    async with transaction(ctx.app.state.sessionmaker) as db:
        row = await service.get_session(db, await ctx.actor(db), session_id)
        if row.status != "terminated":
            await service.end_session(runtime, row, "completed")

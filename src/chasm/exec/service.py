"""Exec: foreground commands, background commands (stream, stdin, kill) and auto-spawn exec."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal as signals
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.accounts.quotas import QuotaExceeded, is_instance_admin, quota_for
from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.billing.hooks import command_exited, record_exec
from chasm.exec.exceptions import CommandNotFound, InvalidExecRequest, InvalidSignal
from chasm.exec.schemas import AutoExecIn, CommandOut, ExecIn, ExecOut, KillIn, StdinIn
from chasm.kit.pagination import Page, PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import SandboxSession
from chasm.sandbox.commands import BackgroundCommand
from chasm.sandbox.runtime import SandboxRuntime
from chasm.sessions import service as sessions
from chasm.sessions.schemas import SessionCreate


def _audit(
    db: AsyncSession, actor: Actor, row: SandboxSession, body: ExecIn, extra: dict[str, object]
) -> None:
    record(
        db,
        actor,
        "session.exec",
        "session",
        row.id,
        summary=body.command[:200],
        metadata={"background": body.background, **extra},
    )


async def _admit_background(db: AsyncSession, actor: Actor, runtime: SandboxRuntime, sid: str) -> None:
    """The plan's `background_commands` (the server's own cap is the command registry's)."""
    quota = quota_for(runtime.settings, actor.account.plan)
    if quota.background_commands is None or await is_instance_admin(db, actor):
        return
    running = runtime.commands.running(sid)
    if running >= quota.background_commands:
        raise QuotaExceeded(
            quota,
            "background_commands",
            quota.background_commands,
            f"This session already runs {running} background command(s); wait for one to end or kill one",
        )


async def run(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, row: SandboxSession, body: ExecIn
) -> ExecOut:
    sid = str(row.id)
    sessions.mark_active(runtime, row)
    workspace_id = str(row.workspace_id) if row.workspace_id else None
    if body.background:
        await _admit_background(db, actor, runtime, sid)
        entry = await runtime.commands.start(
            runtime.driver, sid, body.command, cwd=body.cwd, env=body.env, report_to=str(row.account_id)
        )
        _audit(db, actor, row, body, {"command_id": entry.id})
        await record_exec(db, row)
        return ExecOut(session_id=sid, workspace_id=workspace_id, command_id=entry.id, pid=entry.pid)
    with runtime.leases.hold(sid, "exec"):  # a running command is a live connection
        result = await runtime.driver.exec(
            sid,
            body.command,
            cwd=body.cwd,
            env=body.env,
            timeout_ms=body.timeout_ms,
            max_output_bytes=runtime.settings.exec_max_output_bytes,
        )
    _audit(db, actor, row, body, {"exit_code": result.exit_code, "timed_out": result.timed_out})
    await command_exited(db, row, body.command, result.exit_code, result.timed_out, result.duration_ms)
    return ExecOut(
        session_id=sid,
        workspace_id=workspace_id,
        exit_code=result.exit_code,
        output=result.output,
        output_truncated=result.output_truncated,
        timed_out=result.timed_out,
        duration_ms=round(result.duration_ms, 3),
    )


async def run_resumable(
    db: AsyncSession,
    actor: Actor,
    runtime: SandboxRuntime,
    row: SandboxSession,
    body: ExecIn,
    command_id: str,
) -> ExecOut:
    """A foreground command that outlives this process: run as the logged background command
    `command_id` (its output and exit status are kept by the sandbox's agent), or, when that
    command exists already (a job resumed after its worker died), waited for again."""
    sid = str(row.id)
    sessions.mark_active(runtime, row)
    entry = runtime.commands.get(sid, command_id)
    if entry is None:
        await _admit_background(db, actor, runtime, sid)
        entry = await runtime.commands.start(
            runtime.driver, sid, body.command, cwd=body.cwd, env=body.env, command_id=command_id
        )
        await entry.close_stdin()  # like a foreground exec: nothing on stdin
        _audit(db, actor, row, body, {"command_id": command_id})
    limit = runtime.settings.exec_max_output_bytes
    output = bytearray()
    timed_out = False
    offset = 0

    async def collect() -> None:
        nonlocal offset
        async for chunk in entry.follow(offset):
            output.extend(chunk.data[: max(limit - len(output), 0)])
            offset = chunk.end

    timeout = (
        body.timeout_ms / 1000 - (utcnow() - entry.started_at).total_seconds() if body.timeout_ms else None
    )
    with runtime.leases.hold(sid, "exec"):
        try:
            await asyncio.wait_for(collect(), max(timeout, 0) if timeout is not None else None)
        except TimeoutError:
            timed_out = True
            await entry.kill(signals.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collect(), 5)
    ended = entry.ended_at or utcnow()
    duration_ms = (ended - entry.started_at).total_seconds() * 1000
    exit_code = None if timed_out else entry.exit_code
    await command_exited(db, row, body.command, exit_code, timed_out, duration_ms)
    return ExecOut(
        session_id=sid,
        workspace_id=str(row.workspace_id) if row.workspace_id else None,
        exit_code=exit_code,
        output=bytes(output).decode("utf-8", errors="replace"),
        output_truncated=entry.output_truncated or entry.size > limit,
        timed_out=timed_out,
        duration_ms=round(duration_ms, 3),
    )


async def auto_exec(
    db: AsyncSession,
    actor: Actor,
    runtime: SandboxRuntime,
    body: AutoExecIn,
    *,
    command_id: str | None = None,
    keep_sandbox: bool = False,
) -> ExecOut:
    """With `workspace`: that workspace's live session (started if none); otherwise (or with
    `ephemeral: true`) a new disposable sandbox, ended with the command unless `keep_sandbox`
    (a pipeline runs its later steps there, then ends it). The answer names the session used."""
    if body.workspace and body.ephemeral:
        raise InvalidExecRequest("give either a workspace or ephemeral=true, not both")
    ephemeral = not body.workspace
    create = SessionCreate(
        session_type="sandbox",
        workspace=body.workspace,
        ephemeral=ephemeral,
        image=body.image,
        network=body.network,
    )
    plain = ExecIn(**body.model_dump(include=set(ExecIn.model_fields)))
    created = await sessions.create_session(db, actor, runtime, create)
    try:
        if command_id is not None:
            result = await run_resumable(db, actor, runtime, created.row, plain, command_id)
        else:
            result = await run(db, actor, runtime, created.row, plain)
    except BaseException:
        # The caller's transaction rolls back the new row: the sandbox must not outlive it.
        if created.created:
            await sessions.end_session(runtime, created.row, "error")
        raise
    if ephemeral and created.created and not plain.background and not keep_sandbox:
        # A disposable sandbox serves this one command: it ends with it (a background command
        # keeps its sandbox until the idle timeout, so its output can still be streamed).
        await sessions.end_session(runtime, created.row, "completed")
    return result


def command_out(entry: BackgroundCommand) -> CommandOut:
    return CommandOut(
        id=entry.id,
        session_id=entry.session_id,
        command=entry.command,
        pid=entry.pid,
        status=entry.status,
        exit_code=entry.exit_code,
        output_bytes=entry.size,
        output_truncated=entry.output_truncated,
        started_at=entry.started_at,
        ended_at=entry.ended_at,
    )


def get_command(runtime: SandboxRuntime, row: SandboxSession, command_id: str) -> BackgroundCommand:
    sessions.ensure_here(runtime, row)  # background commands live in the memory of the node running them
    entry = runtime.commands.get(str(row.id), command_id)
    if entry is None:
        raise CommandNotFound(command_id)
    return entry


def list_commands(runtime: SandboxRuntime, row: SandboxSession, paging: PageParams) -> Page[CommandOut]:
    """Oldest first. The registry lives in this process (it is not a table), so it is paged here."""
    sessions.ensure_here(runtime, row)
    return paging.window([command_out(entry) for entry in runtime.commands.list(str(row.id))])


async def write_stdin(
    runtime: SandboxRuntime, row: SandboxSession, command_id: str, body: StdinIn
) -> CommandOut:
    entry = get_command(runtime, row, command_id)
    if entry.ended_at is not None:
        raise InvalidExecRequest(f"command {command_id} has ended", status_code=409, code="command_ended")
    if not entry.stdin_open:
        raise InvalidExecRequest(
            f"the stdin of command {command_id} is closed (eof was sent, or the server restarted "
            "since the command started)",
            status_code=409,
            code="stdin_closed",
        )
    sessions.mark_active(runtime, row)
    if body.data:
        await entry.write_stdin(body.data.encode())
    if body.eof:
        await entry.close_stdin()
    return command_out(entry)


def parse_signal(value: str | int) -> int:
    if isinstance(value, int) or str(value).strip().isdigit():
        number = int(value)
        if number not in {int(s) for s in signals.Signals}:
            raise InvalidSignal(f"unknown signal number {number}")
        return number
    name = str(value).strip().upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signals.Signals[name])
    except KeyError:
        raise InvalidSignal(f"unknown signal '{value}'") from None


async def kill(
    db: AsyncSession,
    actor: Actor,
    runtime: SandboxRuntime,
    row: SandboxSession,
    command_id: str,
    body: KillIn,
) -> CommandOut:
    entry = get_command(runtime, row, command_id)
    signum = parse_signal(body.signal)
    await entry.kill(signum)
    record(
        db,
        actor,
        "session.command.kill",
        "session",
        row.id,
        metadata={"command_id": command_id, "signal": signum},
    )
    return command_out(entry)


def _event(name: str, event_id: int, payload: dict[str, object]) -> str:
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(payload)}\n\n"


def stream(runtime: SandboxRuntime, row: SandboxSession, command_id: str, offset: int) -> AsyncIterator[str]:
    """Server-Sent Events of the command's output after byte `offset`, then an `exit` event.

    Each event's id is the byte offset just past its chunk, so Last-Event-ID resumes exactly."""
    entry = get_command(runtime, row, command_id)
    sid = str(row.id)

    async def events() -> AsyncIterator[str]:
        with runtime.leases.hold(sid, "sse"):
            yield "retry: 1000\n\n"
            async for chunk in entry.follow(offset):
                payload = {"offset": chunk.start, "data": chunk.data.decode("utf-8", "replace")}
                yield _event(chunk.stream, chunk.end, payload)
            yield _event(
                "exit",
                entry.size,
                {
                    "exit_code": entry.exit_code,
                    "status": entry.status,
                    "output_truncated": entry.output_truncated,
                },
            )

    return events()

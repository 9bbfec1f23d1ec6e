"""Exec: /v1/exec, /v1/sessions/{id}/exec and background commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.exec import service
from chasm.exec.schemas import AutoExecIn, CommandOut, ExecIn, ExecOut, KillIn, StdinIn
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import MAX_BYTE_OFFSET, Page
from chasm.sandbox.runtime import SandboxRuntime, get_runtime
from chasm.sessions import service as sessions

LIMITED = [Depends(rate_limited("exec"))]

router = APIRouter(prefix="/v1", tags=[Tag.EXECUTION])

Executor = Annotated[Actor, Depends(require_scope("exec.write"))]
Reader = Annotated[Actor, Depends(require_scope("sessions.read"))]
Runtime = Annotated[SandboxRuntime, Depends(get_runtime)]


@router.post("/exec", response_model=ExecOut, response_model_exclude_unset=True, dependencies=LIMITED)
async def auto_exec(body: AutoExecIn, actor: Executor, db: DbSession, runtime: Runtime) -> ExecOut:
    """Run a command in a workspace's session (started if needed) or a new ephemeral sandbox."""
    return await service.auto_exec(db, actor, runtime, body)


@router.post(
    "/sessions/{session_id}/exec",
    response_model=ExecOut,
    response_model_exclude_unset=True,
    dependencies=LIMITED,
)
async def exec_in_session(
    session_id: str, body: ExecIn, actor: Executor, db: DbSession, runtime: Runtime
) -> ExecOut:
    """Run a command in a session: wait for it, or start it in the background."""
    row = await sessions.get_running(db, actor, session_id, runtime, session_type="sandbox")
    return await service.run(db, actor, runtime, row, body)


@router.get("/sessions/{session_id}/commands")
async def list_commands(
    session_id: str, actor: Reader, db: DbSession, runtime: Runtime, paging: Paging
) -> Page[CommandOut]:
    """Background commands of a session, oldest first."""
    return service.list_commands(runtime, await sessions.get_session(db, actor, session_id), paging)


@router.get("/sessions/{session_id}/commands/{command_id}", response_model=CommandOut)
async def get_command(
    session_id: str, command_id: str, actor: Reader, db: DbSession, runtime: Runtime
) -> CommandOut:
    """Status of a background command."""
    row = await sessions.get_session(db, actor, session_id)
    return service.command_out(service.get_command(runtime, row, command_id))


@router.get(
    "/sessions/{session_id}/commands/{command_id}/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "events `stdout` and `stderr` (data: base64 chunk, id: byte offset), then `exit`",
        }
    },
)
async def stream_command(
    session_id: str,
    command_id: str,
    actor: Reader,
    db: DbSession,
    runtime: Runtime,
    offset: Annotated[int | None, Query(ge=0, le=MAX_BYTE_OFFSET)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: `stdout`/`stderr` chunks (id = byte offset), then `exit`."""
    row = await sessions.get_session(db, actor, session_id)
    resume = last_event_id or ""
    start = offset if offset is not None else int(resume) if resume.isdigit() else 0
    events = service.stream(runtime, row, command_id, start)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/sessions/{session_id}/commands/{command_id}/stdin", response_model=CommandOut, dependencies=LIMITED
)
async def write_stdin(
    session_id: str, command_id: str, body: StdinIn, actor: Executor, db: DbSession, runtime: Runtime
) -> CommandOut:
    """Send data to a background command's stdin; `eof` closes it."""
    row = await sessions.get_running(db, actor, session_id, runtime, session_type="sandbox")
    return await service.write_stdin(runtime, row, command_id, body)


@router.post(
    "/sessions/{session_id}/commands/{command_id}/kill", response_model=CommandOut, dependencies=LIMITED
)
async def kill_command(
    session_id: str,
    command_id: str,
    actor: Executor,
    db: DbSession,
    runtime: Runtime,
    body: KillIn | None = None,
) -> CommandOut:
    """Send a signal (default TERM) to a background command."""
    row = await sessions.get_session(db, actor, session_id)
    return await service.kill(db, actor, runtime, row, command_id, body or KillIn())

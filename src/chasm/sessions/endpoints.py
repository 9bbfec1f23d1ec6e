"""/v1/sessions: create, list, get, terminate, bulk-terminate, resize, self-test."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession, Paging
from chasm.kit.pagination import Page
from chasm.sandbox.runtime import SandboxRuntime, get_runtime
from chasm.sessions import service
from chasm.sessions.schemas import (
    BulkTerminate,
    BulkTerminateResult,
    ResizeIn,
    ResizeOut,
    SelfTestOut,
    SessionCreate,
    SessionOut,
)
from chasm.sessions.selftest import self_test

LIMITED = [Depends(rate_limited("sessions"))]

router = APIRouter(prefix="/v1/sessions", tags=[Tag.SANDBOX_SESSIONS])

Reader = Annotated[Actor, Depends(require_scope("sessions.read"))]
Writer = Annotated[Actor, Depends(require_scope("sessions.write"))]
Runtime = Annotated[SandboxRuntime, Depends(get_runtime)]


@router.post("", status_code=201, response_model=SessionOut, dependencies=LIMITED)
async def create_session(
    body: SessionCreate, actor: Writer, db: DbSession, runtime: Runtime, request: Request, response: Response
) -> SessionOut:
    """Create a session; a workspace-backed create returns the workspace's live session (200)."""
    created = await service.create_session(db, actor, runtime, body)
    if not created.created:
        response.status_code = 200
    return service.to_out(runtime, created.row, str(request.base_url), created.access_token)


@router.get("")
async def list_sessions(
    actor: Reader,
    db: DbSession,
    runtime: Runtime,
    request: Request,
    paging: Paging,
    status: Literal["creating", "running", "terminated"] | None = None,
    workspace: str | None = None,
    session_type: str | None = None,
) -> Page[SessionOut]:
    """List the account's sessions, newest first."""
    rows, total = await service.list_sessions(
        db, actor, paging, status=status, workspace=workspace, session_type=session_type
    )
    base = str(request.base_url)
    return paging.page([service.to_out(runtime, row, base) for row in rows], total)


@router.post("/bulk-terminate", response_model=BulkTerminateResult, dependencies=LIMITED)
async def bulk_terminate(
    body: BulkTerminate, actor: Writer, db: DbSession, runtime: Runtime
) -> BulkTerminateResult:
    """Terminate the listed sessions (or all live ones); per-session failures are reported."""
    return await service.bulk_terminate(db, actor, runtime, body)


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(
    session_id: str, actor: Reader, db: DbSession, runtime: Runtime, request: Request
) -> SessionOut:
    """One session."""
    row = await service.get_session(db, actor, session_id)
    return service.to_out(runtime, row, str(request.base_url))


@router.delete("/{session_id}", response_model=SessionOut, dependencies=LIMITED)
async def terminate_session(
    session_id: str, actor: Writer, db: DbSession, runtime: Runtime, request: Request, force: bool = False
) -> SessionOut:
    """Terminate a session (409 while it has open connections unless force=true)."""
    row = await service.terminate(db, actor, runtime, await service.get_session(db, actor, session_id), force)
    return service.to_out(runtime, row, str(request.base_url))


@router.post("/{session_id}/resize", response_model=ResizeOut, dependencies=LIMITED)
async def resize(
    session_id: str, body: ResizeIn, actor: Writer, db: DbSession, runtime: Runtime
) -> ResizeOut:
    """Resize the session's open terminals."""
    row = await service.get_running(db, actor, session_id, runtime)
    count = await service.resize(runtime, row, body.cols, body.rows)
    return ResizeOut(cols=body.cols, rows=body.rows, terminals=count)


@router.post("/{session_id}/self-test", response_model=SelfTestOut, dependencies=LIMITED)
async def run_self_test(session_id: str, actor: Reader, db: DbSession, runtime: Runtime) -> SelfTestOut:
    """Report what the sandbox sees: cwd, PATH, tool versions, session and workspace markers."""
    return await self_test(runtime, await service.get_running(db, actor, session_id, runtime))

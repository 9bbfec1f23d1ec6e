"""Sandbox and browser sessions: create (or reuse a workspace's live one), list, get, terminate
(spec 002, 004). A browser session is a sandbox whose one program is Chromium (`sandbox.browsers`).

Policy lives here (rules of 004, reuse, leases, reasons); isolation lives behind `SandboxDriver`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.billing import hooks as billing
from chasm.kit.crypto import keyed_hash, random_token
from chasm.kit.errors import ChasmError
from chasm.kit.ids import parse_uuid
from chasm.kit.pagination import PageParams
from chasm.kit.timeutil import utcnow
from chasm.models import SandboxSession, Workspace
from chasm.sandbox import ephemeral
from chasm.sandbox.browsers import browser_limits
from chasm.sandbox.drivers.base import Limits, NetworkSpec, SandboxInfo, SandboxSpec
from chasm.sandbox.kinds import SESSION_TYPES, require_available
from chasm.sandbox.limits import limits_for
from chasm.sandbox.pool import markers
from chasm.sandbox.runtime import SandboxRuntime
from chasm.sandbox.storage.importer import clone_into, repository_url
from chasm.sessions import repository as repo
from chasm.sessions.admission import admit
from chasm.sessions.exceptions import (
    InvalidSessionRequest,
    SessionBusy,
    SessionNotFound,
    SessionNotRunning,
    SessionOnOtherNode,
    WrongSessionType,
)
from chasm.sessions.machine import SEALED_ENV, network_of, seal_state
from chasm.sessions.schemas import (
    BulkTerminate,
    BulkTerminateResult,
    Endpoints,
    SessionCreate,
    SessionOut,
)
from chasm.workspaces import service as workspaces

ACTIVITY_RESOLUTION = timedelta(seconds=30)


@dataclass
class Created:
    row: SandboxSession
    access_token: str | None  # None when an existing live session was reused
    created: bool


def _image_root(runtime: SandboxRuntime, name: str) -> Path:
    from chasm.sandbox import images

    return images.resolve(runtime.settings, name)


def endpoints(
    runtime: SandboxRuntime, base_url: str, session_id: str, session_type: str = "sandbox"
) -> Endpoints:
    base = (runtime.settings.base_url or base_url).rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    domain = runtime.settings.base_domain
    scheme = "https" if base.startswith("https") else "http"
    browser = session_type == "browser"
    return Endpoints(
        gateway_url=f"{base}/s/{session_id}/",
        subdomain_url=f"{scheme}://{session_id}.{domain}/" if domain else None,
        # A browser has no shell: its terminal and exec answer wrong_session_type.
        pty_url=None if browser else f"{ws_base}/v1/sessions/{session_id}/pty",
        exec_url=None if browser else f"{base}/v1/sessions/{session_id}/exec",
        cdp_url=f"{base}/s/{session_id}/" if browser else None,
    )


def to_out(
    runtime: SandboxRuntime, row: SandboxSession, base_url: str, access_token: str | None = None
) -> SessionOut:
    sid = str(row.id)
    network = row.network or {}
    return SessionOut(
        id=sid,
        status=row.status,
        session_type=row.session_type,
        workspace_id=str(row.workspace_id) if row.workspace_id else None,
        ephemeral=row.ephemeral,
        image=row.image,
        network_mode=str(network.get("mode", "none")),
        active_connection_leases=runtime.leases.count(sid),
        endpoints=endpoints(runtime, base_url, sid, row.session_type),
        access_token=access_token,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        ended_reason=row.ended_reason,
    )


async def get_session(db: AsyncSession, actor: Actor, session_id: str | uuid.UUID) -> SandboxSession:
    """A session of the active account; 404 for an unknown id or another account's session."""
    sid = parse_uuid(session_id)
    row = await repo.get(db, actor.account_id, sid) if sid else None
    if row is None:
        raise SessionNotFound(session_id)
    return row


def ensure_here(runtime: SandboxRuntime, row: SandboxSession) -> None:
    """A session's machine is reached only through the server that runs it (421 naming it)."""
    if row.node_id and runtime.node_id and row.node_id != runtime.node_id:
        raise SessionOnOtherNode(row.id, row.node_id)


async def get_running(
    db: AsyncSession,
    actor: Actor,
    session_id: str | uuid.UUID,
    runtime: SandboxRuntime,
    *,
    session_type: str | None = None,
) -> SandboxSession:
    """A running session of the active account whose machine is on this node; of `session_type`
    when given."""
    row = await get_session(db, actor, session_id)
    require_type(row, session_type)
    if row.status != "running":
        raise SessionNotRunning(session_id)
    ensure_here(runtime, row)
    return row


def require_type(row: SandboxSession, session_type: str | None) -> None:
    """Sandbox tools (exec, files, PTY) refuse browser sessions and browser tools sandboxes."""
    if session_type is not None and row.session_type != session_type:
        raise WrongSessionType(
            f"Session {row.id} is a {row.session_type} session; this needs a {session_type} session"
        )


async def _resolve_target(db: AsyncSession, actor: Actor, body: SessionCreate) -> Workspace | None:
    """Rules of 004: ephemeral → no workspace; otherwise a workspace selector is required."""
    if body.session_type not in SESSION_TYPES:
        raise InvalidSessionRequest(f"session_type must be one of {', '.join(SESSION_TYPES)}")
    require_available(body.session_type)
    if body.session_type == "browser":
        for name in ("image", "github_repo", "env"):
            if getattr(body, name) is not None:
                raise InvalidSessionRequest(f"browser sessions do not accept {name}")
    if body.ephemeral:
        if body.workspace:
            raise InvalidSessionRequest("an ephemeral session cannot use a workspace")
        return None
    if not body.workspace:
        raise InvalidSessionRequest("a workspace is required unless ephemeral is true")
    if body.image is not None:
        raise InvalidSessionRequest(
            "image is accepted only for ephemeral sandboxes; a persistent sandbox uses its workspace's image"
        )
    if body.github_repo is not None:
        raise InvalidSessionRequest(
            "github_repo is accepted only for ephemeral sessions; use POST /v1/workspaces/import"
        )
    ws = await workspaces.resolve_workspace(db, actor, body.workspace)
    if ws.session_type != body.session_type:
        raise InvalidSessionRequest(
            f"workspace '{ws.name}' is locked to {ws.session_type} sessions, not {body.session_type}"
        )
    if ws.status != "ready":
        raise ChasmError(
            f"workspace '{ws.name}' is not ready ({ws.status})", status_code=409, code="workspace_not_ready"
        )
    return ws


async def create_session(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, body: SessionCreate
) -> Created:
    ws = await _resolve_target(db, actor, body)
    if ws is None:
        return await _start(db, actor, runtime, body, None)
    async with runtime.workspace_lock(str(ws.id)):
        live = await repo.live_for_workspace(db, ws.id)
        if live is not None:
            runtime.leases.touch(str(live.id))
            return Created(live, None, False)
        return await _start(db, actor, runtime, body, ws)


async def _start(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, body: SessionCreate, ws: Workspace | None
) -> Created:
    network_spec, network = network_of(body)
    image = ws.image if ws is not None else body.image
    image_root = _image_root(runtime, image) if image else None
    browser = body.session_type == "browser"
    limits = browser_limits(runtime.settings) if browser else limits_for(runtime.settings, actor.account.plan)
    await admit(
        db, actor, runtime.settings, runtime.admission, limits.memory_bytes, workspace_backed=ws is not None
    )
    await billing.admit(db, actor, runtime.settings)
    plain = ws is None and not image and not body.github_repo and not body.env and network_spec.mode == "none"
    pool = runtime.browser_pool if browser else runtime.pool
    plain = plain and limits == pool.limits
    warm = await pool.take() if plain else None
    token = random_token(24)
    row = SandboxSession(
        id=uuid.UUID(warm.session_id) if warm else uuid.uuid4(),
        account_id=actor.account_id,
        workspace_id=ws.id if ws else None,
        session_type=body.session_type,
        status="creating",
        ephemeral=ws is None,
        image=image,
        env=None,  # values are secrets: only the sandbox holds them (and the sealed driver state)
        network=network,
        github_repo=body.github_repo,
        driver=runtime.driver.name,
        node_id=runtime.node_id,
        access_token_hash=keyed_hash(runtime.settings.secret_key or "", token),
        created_by=str(actor.principal_id),
    )
    sid = str(row.id)
    runtime.leases.touch(sid)  # in use from now: the reaper leaves a sandbox with no row yet alone
    info = (
        warm.info if warm else await _start_sandbox(runtime, body, ws, sid, image_root, network_spec, limits)
    )
    try:
        if ws is not None:
            ws.last_session_id = row.id
        now = utcnow()
        row.status = "running"
        row.started_at = now
        row.last_activity_at = now
        row.driver_state = seal_state(runtime.settings.secret_key or "", {"pid": info.pid, **info.state})
        db.add(row)
        await db.flush()
    except BaseException:
        await end_session(runtime, row, "error")  # no row, no sandbox
        raise
    runtime.leases.touch(sid)
    record(
        db,
        actor,
        "session.create",
        "session",
        row.id,
        summary=f"started {row.session_type} session" + (f" on workspace {ws.name}" if ws else ""),
        metadata={"workspace_id": str(ws.id) if ws else None, "image": image, "network": network["mode"]},
    )
    await billing.session_started(db, row)
    return Created(row, token, True)


async def _start_sandbox(
    runtime: SandboxRuntime,
    body: SessionCreate,
    ws: Workspace | None,
    sid: str,
    image_root: Path | None,
    network_spec: NetworkSpec,
    limits: Limits,
) -> SandboxInfo:
    if ws is not None:
        workdir = await runtime.storage.mount(workspaces.disk_id(ws))
    else:
        workdir = ephemeral.create(runtime.settings, sid, limits.memory_bytes)
        if body.github_repo:
            url = repository_url(body.github_repo, runtime.settings.github_base_url)
            try:
                await clone_into(url, workdir, None, runtime.settings.import_timeout_s)
            except RuntimeError as exc:
                ephemeral.remove(runtime.settings, sid)
                raise InvalidSessionRequest(str(exc), code="repository_clone_failed") from exc
    env = markers(sid)
    if ws is not None:
        env["CHASM_WORKSPACE_ID"] = str(ws.id)
    spec = SandboxSpec(
        session_id=sid,
        workspace_dir=workdir,
        workspace_id=str(ws.id) if ws else None,
        image_root=image_root,
        env={**(body.env or {}), **env},
        network=network_spec,
        limits=limits,
    )
    try:
        info = await runtime.driver.start(spec)
        if body.session_type == "browser":
            await runtime.browsers.launch(sid, network_spec)
        return info
    except BaseException:
        await runtime.browsers.close(sid, graceful=False)
        await runtime.driver.stop(sid)
        if ws is None:
            ephemeral.remove(runtime.settings, sid)
        raise


async def end_session(runtime: SandboxRuntime, row: SandboxSession, reason: str) -> None:
    """Stop the machine and mark the row terminated (the caller's transaction persists it)."""
    sid = str(row.id)
    if row.session_type == "browser":
        # A workspace's browser writes its profile out (cookies) and drops its lock first.
        await runtime.browsers.close(sid, graceful=not row.ephemeral and reason != "browser_exited")
    await runtime.release(sid)
    await runtime.driver.stop(sid)
    if row.ephemeral:
        ephemeral.remove(runtime.settings, sid)
    row.status = "terminated"
    row.ended_at = utcnow()
    row.ended_reason = reason
    if row.driver_state and SEALED_ENV in row.driver_state:  # nothing of its secrets outlives it
        row.driver_state = {k: v for k, v in row.driver_state.items() if k != SEALED_ENV}
    row.env = None


async def terminate(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, row: SandboxSession, force: bool
) -> SandboxSession:
    if row.status == "terminated":
        return row
    ensure_here(runtime, row)  # else its machine would run on, unseen, while the row says ended
    leases = runtime.leases.count(str(row.id))
    if leases and not force:
        raise SessionBusy(
            f"Session {row.id} has {leases} active connection(s); close them or pass force=true"
        )
    await end_session(runtime, row, "requested")
    record(db, actor, "session.terminate", "session", row.id, metadata={"force": force, "leases": leases})
    billing.session_ended(db)
    return row


async def terminate_for_workspace(
    runtime: SandboxRuntime, db: AsyncSession, actor: Actor, session_id: uuid.UUID
) -> None:
    """The workspaces domain's `Terminator` (bound to the runtime by the lifespan): a forced
    delete ends the attached session."""
    row = await repo.get(db, actor.account_id, session_id)
    if row is not None:
        await terminate(db, actor, runtime, row, force=True)


async def bulk_terminate(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, body: BulkTerminate
) -> BulkTerminateResult:
    if body.all == bool(body.session_ids):
        raise InvalidSessionRequest("give either session_ids or all=true")
    ids: Sequence[str | uuid.UUID] = (
        await repo.live_ids(db, actor.account_id) if body.all else list(body.session_ids or [])
    )
    done: list[str] = []
    failed: list[dict[str, str]] = []
    for sid in ids:
        try:
            row = await get_session(db, actor, sid)
            await terminate(db, actor, runtime, row, body.force)
            done.append(str(row.id))
        except ChasmError as exc:
            failed.append({"id": str(sid), "code": exc.code, "message": exc.message})
    return BulkTerminateResult(terminated=done, failed=failed)


async def list_sessions(
    db: AsyncSession,
    actor: Actor,
    paging: PageParams,
    *,
    status: str | None,
    workspace: str | None,
    session_type: str | None,
) -> tuple[Sequence[SandboxSession], int]:
    ws_id = (await workspaces.resolve_workspace(db, actor, workspace)).id if workspace else None
    return await repo.list_for_account(
        db, actor.account_id, paging, status=status, workspace_id=ws_id, session_type=session_type
    )


def mark_active(runtime: SandboxRuntime, row: SandboxSession) -> None:
    """Exec and file transfers keep a session from idling out.

    This process's lease registry sees every use; the row is only rewritten when its time is
    older than ACTIVITY_RESOLUTION (it matters only after a restart), which spares most execs a
    write."""
    now = utcnow()
    if row.last_activity_at is None or now - row.last_activity_at > ACTIVITY_RESOLUTION:
        row.last_activity_at = now
    runtime.leases.touch(str(row.id))


async def resize(runtime: SandboxRuntime, row: SandboxSession, cols: int, rows: int) -> int:
    terminals = runtime.terminals.of_session(str(row.id))
    for terminal in terminals:
        await terminal.resize(cols, rows)
    return len(terminals)

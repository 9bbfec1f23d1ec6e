"""Session tools: list, get, create (sandbox or browser) and terminate the caller's sessions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.kit.pagination import PageParams
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service as sessions
from chasm.sessions.schemas import NetworkIn, SessionCreate
from chasm.tools.base import Tool, ToolContext, ToolResult


def _session(ctx: ToolContext, row: Any, access_token: str | None = None) -> dict[str, Any]:
    out = sessions.to_out(runtime_of(ctx.app), row, ctx.base_url, access_token)
    return out.model_dump(mode="json", exclude_none=True)


class ListArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["creating", "running", "terminated"] | None = Field(
        default="running", description="only sessions in this state (default running; null for all)"
    )
    session_type: Literal["sandbox", "browser"] | None = None
    workspace: str | None = Field(default=None, description="only sessions of this workspace (name or id)")
    limit: int = Field(default=20, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)


async def list_sessions(ctx: ToolContext, args: ListArgs) -> ToolResult:
    rows, total = await sessions.list_sessions(
        ctx.db,
        ctx.actor,
        PageParams(limit=args.limit, offset=args.offset),
        status=args.status,
        workspace=args.workspace,
        session_type=args.session_type,
    )
    return ToolResult.of({"sessions": [_session(ctx, r) for r in rows], "total": total})


class GetArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str


async def get_session(ctx: ToolContext, args: GetArgs) -> ToolResult:
    return ToolResult.of(_session(ctx, await sessions.get_session(ctx.db, ctx.actor, args.session_id)))


class CreateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_type: Literal["sandbox", "browser"] = "sandbox"
    workspace: str | None = Field(
        default=None, description="workspace name or id: its live session is returned, or one is started"
    )
    image: str | None = Field(
        default=None, max_length=300, description="root filesystem (ephemeral sandboxes)"
    )
    network: Literal["none", "direct"] = Field(default="none", description="outbound network access")
    github_repo: str | None = Field(
        default=None, max_length=1000, description="owner/name cloned into /workspace"
    )


async def create_session(ctx: ToolContext, args: CreateArgs) -> ToolResult:
    body = SessionCreate(
        session_type=args.session_type,
        workspace=args.workspace,
        ephemeral=args.workspace is None,
        image=args.image,
        github_repo=args.github_repo,
        network=NetworkIn(mode=args.network) if args.network != "none" else None,
    )
    created = await sessions.create_session(ctx.db, ctx.actor, runtime_of(ctx.app), body)
    return ToolResult.of({**_session(ctx, created.row, created.access_token), "reused": not created.created})


class TerminateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str
    force: bool = Field(default=False, description="end it even while connections are open")


async def terminate_session(ctx: ToolContext, args: TerminateArgs) -> ToolResult:
    row = await sessions.get_session(ctx.db, ctx.actor, args.session_id)
    row = await sessions.terminate(ctx.db, ctx.actor, runtime_of(ctx.app), row, args.force)
    return ToolResult.of(_session(ctx, row))


SESSION_TOOLS: list[Tool[Any]] = [
    Tool(
        name="list_sessions",
        description="List your sandbox and browser sessions (running ones by default), newest first.",
        args=ListArgs,
        handler=list_sessions,
        scope=lambda _a: "sessions.read",
        scopes=("sessions.read",),
        read_only=True,
    ),
    Tool(
        name="get_session",
        description="One session: status, type, workspace, image, network, endpoints, times.",
        args=GetArgs,
        handler=get_session,
        scope=lambda _a: "sessions.read",
        scopes=("sessions.read",),
        read_only=True,
    ),
    Tool(
        name="create_session",
        description=(
            "Start a session: a sandbox (ephemeral, or on a workspace whose live session is reused) or a "
            "browser. Returns its id for the terminal or browser tools."
        ),
        args=CreateArgs,
        handler=create_session,
        scope=lambda _a: "sessions.write",
        scopes=("sessions.write",),
    ),
    Tool(
        name="terminate_session",
        description="End a session (refused while it has open connections unless force is true).",
        args=TerminateArgs,
        handler=terminate_session,
        scope=lambda _a: "sessions.write",
        scopes=("sessions.write",),
    ),
]

"""The MCP server of `POST /v1/mcp`: the SDK's low-level `Server` whose tools are the registry's.

The SDK's streamable-HTTP session manager runs stateless with JSON responses: every POST is one
JSON-RPC exchange, answered in its HTTP response, so any server process can answer any request
and nothing outlives it. The endpoint authenticates the caller before the SDK sees the request
and leaves the actor on the request (`request.state.actor`); the handlers read it from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from fastapi import FastAPI
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request

from chasm import __version__
from chasm.auth.actor import Actor
from chasm.kit.errors import Forbidden
from chasm.mcp.convert import call_result, mcp_tool, protocol_error
from chasm.tools import UnknownTool, build_registry

INSTRUCTIONS = (
    "Chasm gives you isolated Linux sandboxes (terminal: run commands, read/write/edit/list files), "
    "persistent workspaces, browser sessions when the server has them, and search over your own and "
    "your user's past AI conversations (search_chats, read_chat)."
)


def _caller(ctx: ServerRequestContext[Any]) -> tuple[Request, Actor]:
    request = ctx.request
    actor = getattr(request.state, "actor", None) if isinstance(request, Request) else None
    if request is None or actor is None:  # only the authenticated endpoint hands requests to this server
        raise protocol_error(Forbidden("No authenticated caller", code="unauthorized"))
    return request, actor


async def _list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    request, _actor = _caller(ctx)
    return types.ListToolsResult(tools=[mcp_tool(t) for t in build_registry(request.app)])


async def _call_tool(
    ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    request, actor = _caller(ctx)
    registry = build_registry(request.app)
    try:
        result = await registry.call(
            request.app, actor, params.name, params.arguments, base_url=str(request.base_url)
        )
    except (UnknownTool, Forbidden) as exc:
        raise protocol_error(exc) from None
    return call_result(result)


def build_server() -> Server[Any]:
    return Server(
        "chasm",
        version=__version__,
        title="Chasm",
        instructions=INSTRUCTIONS,
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
    )


@asynccontextmanager
async def mcp_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The session manager behind /v1/mcp, for the server's lifetime."""
    manager = StreamableHTTPSessionManager(
        build_server(),
        json_response=True,
        stateless=True,
        # Callers are authenticated by bearer key before the SDK sees the request; browsers cannot
        # send one across origins, so the SDK's Host/Origin checks add nothing here.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=app.state.settings.max_body_bytes,
    )
    # The manager's task group lives in a task of its own: the lifespan may be entered and left
    # in different tasks (as test fixtures do), which an anyio task group does not allow.
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold(), name="mcp-session-manager")
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    app.state.mcp = manager
    try:
        yield
    finally:
        app.state.mcp = None
        stop.set()
        await task

"""`chasm mcp serve`: an MCP server on stdin/stdout whose tools are a Chasm server's.

It relays `tools/list` and `tools/call` to the server's `/v1/mcp` with the caller's key (the SDK's
streamable-HTTP client on one side, its stdio server on the other), so desktop and CLI agents that
only start local MCP servers get exactly the tools, scopes and errors of the HTTP endpoint.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from chasm import __version__
from chasm.mcp.server import INSTRUCTIONS


class RelayRefused(Exception):
    """The server refused the relay's first request (a bad key, a limit): its message."""


async def _check_access(http: httpx2.AsyncClient, url: str) -> None:
    """A `ping` before the MCP session starts: the SDK's client reports an HTTP refusal without
    the server's reason, which is what a user needs to see (an expired key, a wrong URL)."""
    ping = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
    response = await http.post(endpoint_url(url), json=ping, headers={"Accept": "application/json"})
    if response.status_code < 400:
        return
    try:
        reason = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        reason = response.text[:200] or response.reason_phrase
    hint = " (check the key: --key or CHASM_API_KEY)" if response.status_code in (401, 403) else ""
    raise RelayRefused(f"{endpoint_url(url)} answered {response.status_code}: {reason}{hint}")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def explain(exc: BaseException, url: str) -> str | None:
    """One line for a failure to reach or use the server (None: not one of those)."""
    for leaf in _leaves(exc):
        if isinstance(leaf, RelayRefused):
            return str(leaf)
        if isinstance(leaf, httpx2.TransportError):
            return (
                f"cannot reach Chasm at {url} ({leaf or type(leaf).__name__}); is `chasm api serve` running?"
            )
        if isinstance(leaf, MCPError):
            return f"{endpoint_url(url)}: {leaf.message}"
    return None


def endpoint_url(url: str) -> str:
    return url.rstrip("/") + "/v1/mcp"


@asynccontextmanager
async def remote_session(url: str, key: str, timeout_s: float = 3600.0) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session with the server at `url` (its base URL)."""
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx2.Timeout(30.0, read=timeout_s)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
    ):
        await _check_access(http, url)
        async with (
            streamable_http_client(endpoint_url(url), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def relay_server(remote: ClientSession) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return await remote.list_tools(params=params)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        # A JSON-RPC error of the server (unknown tool, missing scope) raises MCPError here, which
        # the stdio side answers with the same code and message.
        return await remote.call_tool(params.name, params.arguments)

    return Server(
        "chasm",
        version=__version__,
        title="Chasm",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve(url: str, key: str) -> None:
    async with remote_session(url, key) as remote:
        server = relay_server(remote)
        print(f"chasm mcp serve: relaying to {endpoint_url(url)}", file=sys.stderr, flush=True)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

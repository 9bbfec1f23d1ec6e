"""Fixtures of the MCP tests: the sandbox app served live, and an MCP client of the SDK.

(No helper modules here: `tests/` is on the path, so `mcp.<name>` would be the SDK's.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from sessions.fixtures import app, live, sandbox, settings  # noqa: F401

Connect = Callable[[str, str], AbstractAsyncContextManager[ClientSession]]


@asynccontextmanager
async def _connect(url: str, key: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
        streamable_http_client(f"{url}/v1/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture
def mcp_connect() -> Connect:
    """`async with mcp_connect(live.url, key) as session:` an initialized SDK client session."""
    return _connect

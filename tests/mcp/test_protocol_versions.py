"""The SDK's high-level `Client` in each of its modes: the initialize handshake (legacy), the
2026-07-28 protocol (`server/discover`, no handshake), and auto (probes, then picks)."""

from __future__ import annotations

import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("mode", ["auto", "legacy", "2026-07-28"])
async def test_the_sdk_client_in_each_mode(live, admin_key, mode) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {admin_key}"}, timeout=60) as http:
        transport = streamable_http_client(f"{live.url}/v1/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:
            assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            tools = await client.list_tools()
            assert "terminal" in {t.name for t in tools.tools}
            result = await client.call_tool("terminal", {"command": "echo modern"})
            assert result.structured_content["output"] == "modern\n", result

"""Benchmark of MCP `tools/call` round trips on a real uvicorn server.

    uv run python -m bench.mcp_call [--calls 300]

Starts the server in a child process (as bench.sandbox_api does: throwaway data dir, rate limits
off), opens one sandbox session, then measures in the same run, calls interleaved:
  - yardstick: `POST /v1/sessions/{id}/exec` of `true` (the plain REST exec)
  - `GET /v1/sessions/{id}` (a request alone: auth, one query; the floor of any call)
  - MCP `ping` (the transport alone: auth, the SDK's stateless streamable-HTTP exchange)
  - MCP `tools/call` of `terminal` running `true` in that session, as a raw JSON-RPC POST
  - the same through the SDK's own client (`ClientSession.call_tool` over streamable HTTP)
and prints p50/p95 of each and the ratio of MCP tools/call to the REST exec.
Target: MCP `tools/call` of `true` p50 <= 15 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from bench.sandbox_api import free_port, pct, start_server

ACCEPT = "application/json, text/event-stream"


async def timed(call: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def run(calls: int, base: str, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as rest,
        httpx2.AsyncClient(headers=headers, timeout=60) as http2,
        streamable_http_client(f"{base}/v1/mcp", http_client=http2) as (read, write),
        ClientSession(read, write) as sdk,
    ):
        await sdk.initialize()
        created = await rest.post("/v1/sessions", json={"ephemeral": True})
        created.raise_for_status()
        sid = created.json()["id"]
        mcp_headers = {"Accept": ACCEPT, "Content-Type": "application/json"}

        async def rest_exec() -> None:
            r = await rest.post(f"/v1/sessions/{sid}/exec", json={"command": "true"})
            assert r.status_code == 200 and r.json()["exit_code"] == 0, r.text

        async def rest_get() -> None:
            r = await rest.get(f"/v1/sessions/{sid}")
            assert r.status_code == 200, r.text

        async def mcp_ping() -> None:
            r = await rest.post(
                "/v1/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=mcp_headers
            )
            assert r.status_code == 200, r.text

        call_body = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "terminal", "arguments": {"session_id": sid, "command": "true"}},
        }

        async def mcp_call() -> None:
            r = await rest.post("/v1/mcp", json=call_body, headers=mcp_headers)
            assert r.json()["result"]["structuredContent"]["exit_code"] == 0, r.text

        async def sdk_call() -> None:
            result = await sdk.call_tool("terminal", {"session_id": sid, "command": "true"})
            assert result.structured_content and result.structured_content["exit_code"] == 0

        cases = {
            "REST exec `true` (yardstick)": rest_exec,
            "REST GET the session (a request alone)": rest_get,
            "MCP ping": mcp_ping,
            "MCP tools/call `true` (raw JSON-RPC POST)": mcp_call,
            "MCP tools/call `true` (SDK client)": sdk_call,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for call in cases.values():  # warm up
            for _ in range(10):
                await call()
        for _ in range(calls):
            for name, call in cases.items():
                times[name].append(await timed(call))
        await rest.delete(f"/v1/sessions/{sid}", params={"force": "true"})

    width = max(len(n) for n in times)
    print(f"{calls} calls each, interleaved, one sandbox session")
    for name, values in times.items():
        print(f"  {name:<{width}}  p50 {pct(values, 0.5):7.2f} ms   p95 {pct(values, 0.95):7.2f} ms")
    yard = pct(times["REST exec `true` (yardstick)"], 0.5)
    raw = pct(times["MCP tools/call `true` (raw JSON-RPC POST)"], 0.5)
    sdk_p50 = pct(times["MCP tools/call `true` (SDK client)"], 0.5)
    print(f"  MCP tools/call / REST exec (p50): raw {raw / yard:.2f}x, SDK client {sdk_p50 / yard:.2f}x")
    floor = pct(times["REST GET the session (a request alone)"], 0.5)
    ping = pct(times["MCP ping"], 0.5)
    print(
        f"  p50 shares: the SDK's stateless exchange (ping - GET) {ping - floor:.2f} ms, "
        f"the tool layer (tools/call - exec - that) {raw - yard - (ping - floor):.2f} ms"
    )
    print(f"  target: MCP tools/call p50 <= 15 ms: {'met' if raw <= 15 else 'NOT met'} ({raw:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chasm-bench-mcp-") as tmp:
        proc, key = start_server(Path(tmp) / "data", port := free_port())
        try:
            asyncio.run(run(args.calls, f"http://127.0.0.1:{port}", key))
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()

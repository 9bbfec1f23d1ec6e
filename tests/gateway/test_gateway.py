from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from sessions.fixtures import LiveServer, other_account_client

pytestmark = pytest.mark.sandbox

ECHO = (Path(__file__).parent / "echo_server.py").read_bytes()
PORT = 8000


async def _serve(admin: httpx.AsyncClient, sid: str) -> str:
    """Start the echo server inside the sandbox; the gateway path of its port."""
    up = await admin.post(
        f"/v1/sessions/{sid}/upload", data={"path": "echo_server.py"}, files={"file": ("e.py", ECHO)}
    )
    assert up.status_code == 200, up.text
    await admin.post(
        f"/v1/sessions/{sid}/exec", json={"command": f"python3 echo_server.py {PORT}", "background": True}
    )
    base = f"/s/{sid}/forward/{PORT}"
    for _ in range(200):
        if (await admin.get(f"{base}/ready")).status_code == 200:
            return base
        await asyncio.sleep(0.05)
    raise AssertionError("the echo server did not start")


async def test_http_is_forwarded(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    base = await _serve(admin, sandbox["id"])
    r = await admin.get(f"{base}/some/path?x=1&y=two", headers={"X-Custom": "yes"})
    assert r.status_code == 200 and r.headers["x-upstream"] == "echo"
    seen = r.json()
    assert seen["method"] == "GET" and seen["path"] == "/some/path?x=1&y=two"
    assert seen["headers"]["x-custom"] == "yes"
    assert "authorization" not in seen["headers"]  # the gateway's credentials stay at the gateway
    assert seen["headers"]["x-forwarded-prefix"] == base

    payload = bytes(range(256)) * 800

    async def chunks() -> Any:
        for i in range(0, len(payload), 10_000):
            yield payload[i : i + 10_000]

    posted = await admin.post(f"{base}/upload", content=payload)
    assert posted.status_code == 201
    assert posted.json()["body_sha256"] == hashlib.sha256(payload).hexdigest()
    streamed = await admin.put(f"{base}/stream", content=chunks())
    assert streamed.json()["body_len"] == len(payload)
    assert (await admin.delete(f"{base}/x")).json()["method"] == "DELETE"

    closed = await admin.get(f"/s/{sandbox['id']}/forward/8999/")
    assert closed.status_code == 502


async def test_gateway_authentication(
    admin: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    base = await _serve(admin, sandbox["id"])
    token = sandbox["access_token"]
    assert (await client.get(f"{base}/")).status_code == 401
    assert (await client.get(f"{base}/", headers={"X-Chasm-Session-Token": "wrong"})).status_code == 401
    by_header = await client.get(f"{base}/", headers={"X-Chasm-Session-Token": token})
    assert by_header.status_code == 200
    assert "x-chasm-session-token" not in by_header.json()["headers"]

    once = await client.get(f"{base}/page?token={token}&keep=1")
    assert once.status_code == 200
    assert once.json()["path"] == "/page?keep=1"  # the token is not passed on
    cookie = once.headers["set-cookie"]
    assert f"Path=/s/{sandbox['id']}/" in cookie and "HttpOnly" in cookie
    again = await client.get(f"{base}/later")  # the cookie jar sends it back
    assert again.status_code == 200
    assert "cookie" not in again.json()["headers"]

    async with await other_account_client(app, admin) as other:
        assert (await other.get(f"{base}/")).status_code == 404


async def test_subdomain_routes_the_same(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    await _serve(admin, sandbox["id"])
    assert sandbox["endpoints"]["subdomain_url"] == f"http://{sandbox['id']}.sandbox.test/"
    r = await admin.get(f"/forward/{PORT}/via-host", headers={"Host": f"{sandbox['id']}.sandbox.test"})
    assert r.status_code == 200 and r.json()["path"] == "/via-host"
    assert r.json()["headers"]["x-forwarded-prefix"] == f"/forward/{PORT}"


async def test_websocket_is_forwarded(
    admin: httpx.AsyncClient, sandbox: dict[str, Any], live: LiveServer
) -> None:
    await _serve(admin, sandbox["id"])
    url = f"{live.ws_url}/s/{sandbox['id']}/forward/{PORT}/ws?token={sandbox['access_token']}"
    async with connect(url) as ws:
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), 10) == "echo:hello"
        await ws.send("again")
        assert await asyncio.wait_for(ws.recv(), 10) == "echo:again"
        leases = (await admin.get(f"/v1/sessions/{sandbox['id']}")).json()["active_connection_leases"]
        assert leases == 1

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

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


async def test_sandbox_code_sees_no_credentials_and_the_real_peer(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    base = await _serve(admin, sandbox["id"])
    token = sandbox["access_token"]
    spoofed = {
        "Referer": f"http://testserver{base}/?token={admin.headers['authorization'].split()[1]}",
        "X-Forwarded-For": "203.0.113.9",
        "X-Real-IP": "203.0.113.9",
        "Forwarded": "for=203.0.113.9",
        "X-Forwarded-Host": "evil.test",
        "Cookie": "app=1; chasm_session_0123456789abcdef0123456789abcdef=stolen",
    }
    for caller, extra in ((admin, {}), (client, {"X-Chasm-Session-Token": token})):
        seen = (await caller.get(f"{base}/page?token={token}&keep=1", headers={**spoofed, **extra})).json()
        headers = seen["headers"]
        assert seen["path"] == "/page?keep=1"
        assert "referer" not in headers and "authorization" not in headers
        assert "x-chasm-session-token" not in headers and "x-real-ip" not in headers
        assert "forwarded" not in headers
        assert headers["x-forwarded-for"] == "127.0.0.1"  # the peer the server saw, only
        assert headers["x-forwarded-host"] == caller.base_url.netloc.decode()
        assert headers["cookie"] == "app=1"  # the gateway's own cookies stay at the gateway


async def test_sandbox_cookies_stay_in_the_session(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    sid = sandbox["id"]
    base = await _serve(admin, sid)
    sent = [
        "wide=1; Path=/; Domain=sandbox.test; HttpOnly",
        "api=2; Path=/v1/sessions",
        "own=3; Path=/s/" + sid + "/forward/8000/app",
        "plain=4",
        f"chasm_session_{sid.replace('-', '')}=planted; Path=/",
    ]
    query = "&".join(f"set_cookie={quote(c)}" for c in sent)
    headers = "&".join(f"header={quote(h)}" for h in ("Service-Worker-Allowed: /", "X-Kept: yes"))
    r = await admin.get(f"{base}/c?{query}&{headers}")
    assert r.status_code == 200
    assert r.headers.get_list("set-cookie") == [
        f"wide=1; Path=/s/{sid}/forward/{PORT}/; HttpOnly",
        f"api=2; Path=/s/{sid}/forward/{PORT}/v1/sessions",
        f"own=3; Path=/s/{sid}/forward/8000/app",
        "plain=4",
    ]
    assert "service-worker-allowed" not in r.headers and r.headers["x-kept"] == "yes"

    # The subdomain form is the session's own origin: only the Domain attribute goes.
    host = {"Host": f"{sid}.sandbox.test"}
    r = await admin.get(f"/forward/{PORT}/c?{query}&{headers}", headers=host)
    assert r.headers.get_list("set-cookie") == [
        "wide=1; Path=/; HttpOnly",
        "api=2; Path=/v1/sessions",
        f"own=3; Path=/s/{sid}/forward/8000/app",
        "plain=4",
    ]
    assert r.headers["service-worker-allowed"] == "/"


async def test_browsers_are_sent_to_the_subdomain_form(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    sid, token = sandbox["id"], sandbox["access_token"]
    base = await _serve(admin, sid)
    navigate = {"Sec-Fetch-Mode": "navigate"}
    moved = await client.get(f"{base}/app/page?token={token}&x=1", headers=navigate)
    assert moved.status_code == 307 and "set-cookie" not in moved.headers
    assert (
        moved.headers["location"]
        == f"http://{sid}.sandbox.test:8787/forward/{PORT}/app/page?token={token}&x=1"
    )
    assert (await client.get(f"{base}/x", headers=navigate)).status_code == 401  # admission first
    assert (await admin.get(f"{base}/x")).status_code == 200  # API clients stay on the path form
    there = await client.get(
        f"/forward/{PORT}/app/page?token={token}&x=1",
        headers={**navigate, "Host": f"{sid}.sandbox.test:8787"},
    )
    assert there.status_code == 200 and there.json()["path"] == "/app/page?x=1"
    assert "Path=/;" in there.headers["set-cookie"]

"""The chat surface (/api) is open to loopback callers of a loopback-bound server, and needs a
bearer token from anywhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from auth.idhelpers import register
from chasm.app import create_app
from chasm.auth.deps import ChatActor
from chasm.config import Settings
from chasm.kit.surface import ApiRoute

probe = APIRouter(route_class=ApiRoute)


@probe.get("/whoami")
async def whoami(actor: ChatActor) -> dict[str, Any]:
    data = {"user_id": str(actor.user_id), "via": actor.via, "account": actor.account.name}
    return {"success": True, "data": data}


async def _started(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    application.include_router(probe, prefix="/api")
    application.router.routes.insert(0, application.router.routes.pop())  # ahead of /api's catch-all
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def chat_app(settings: Settings) -> AsyncIterator[FastAPI]:
    async for application in _started(settings):
        yield application


def remote_client(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    """As tests/conftest.py's remote_client (not importable from here: this folder has its own conftest)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://chasm.example", headers=headers)


def _local(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787")


async def test_loopback_without_token_acts_as_the_local_owner(chat_app: FastAPI) -> None:
    async with _local(chat_app) as c:
        r = await c.get("/api/whoami")
    assert r.status_code == 200
    assert r.json()["data"]["via"] == "loopback"
    assert r.json()["data"]["account"] == "owner@localhost"


async def test_remote_needs_a_token(chat_app: FastAPI) -> None:
    async with remote_client(chat_app) as c:
        r = await c.get("/api/whoami")
    assert r.status_code == 401
    assert r.json() == {
        "success": False,
        "error": {"code": "UNAUTHORIZED", "message": "Authentication required"},
    }

    key = chat_app.state.bootstrap_key
    async with remote_client(chat_app, Authorization=f"Bearer {key}") as c:
        r = await c.get("/api/whoami")
    assert r.status_code == 200
    assert r.json()["data"]["via"] == "api_key"

    async with _local(chat_app) as c:
        user = await register(c, "remote@example.com")
    async with remote_client(chat_app, Authorization=f"Bearer {user['access_token']}") as c:
        r = await c.get("/api/whoami")
    assert r.status_code == 200
    assert r.json()["data"]["user_id"] == user["user"]["id"]

    async with remote_client(chat_app, Authorization="Bearer sk_wrong") as c:
        r = await c.get("/api/whoami")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"


async def test_chat_requires_auth_setting_closes_loopback_too(settings: Settings) -> None:
    async for application in _started(settings.model_copy(update={"chat_requires_auth": True})):
        async with _local(application) as c:
            assert (await c.get("/api/whoami")).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "198.51.100.4"},
        {"Forwarded": "for=198.51.100.4;proto=https"},
        {"X-Real-IP": "198.51.100.4"},
    ],
)
async def test_a_proxied_loopback_request_needs_a_token(chat_app: FastAPI, header: dict[str, str]) -> None:
    """A reverse proxy on the same machine connects from 127.0.0.1 whoever its client is."""
    async with _local(chat_app) as c:
        r = await c.get("/api/whoami", headers=header)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "UNAUTHORIZED"
        key = chat_app.state.bootstrap_key
        r = await c.get("/api/whoami", headers={**header, "Authorization": f"Bearer {key}"})
        assert r.status_code == 200


async def test_loopback_is_not_trusted_when_bound_to_every_interface(settings: Settings) -> None:
    async for application in _started(settings.model_copy(update={"host": "0.0.0.0"})):
        async with _local(application) as c:
            assert (await c.get("/api/whoami")).status_code == 401


async def test_the_loopback_owner_is_the_instance_admin(chat_app: FastAPI) -> None:
    async with _local(chat_app) as c:
        assert (await c.post("/api/system/cache/clear")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        # A page of another site posting a form (or an upload) through this machine's browser.
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        # DNS rebinding: the other site's name now resolves to 127.0.0.1; the Host header keeps it.
        {"Host": "evil.example:8787"},
        {"Host": "evil.example:8787", "Origin": "http://evil.example:8787", "Sec-Fetch-Site": "same-origin"},
    ],
)
async def test_another_sites_page_is_not_the_local_owner(chat_app: FastAPI, headers: dict[str, str]) -> None:
    async with _local(chat_app) as c:
        for method, path in (("GET", "/api/whoami"), ("POST", "/api/system/cache/clear")):
            r = await c.request(method, path, headers=headers)
            assert r.status_code == 401, (headers, path, r.text)
        assert (await c.post("/auth/local-token", headers=headers)).status_code == 403


async def test_the_servers_own_pages_and_other_clients_are_the_local_owner(chat_app: FastAPI) -> None:
    async with _local(chat_app) as c:
        for headers in (
            {},  # curl, the CLI, scripts: no browser headers
            {"Origin": "http://127.0.0.1:8787", "Sec-Fetch-Site": "same-origin"},
            {"Sec-Fetch-Site": "none"},  # typed in the address bar
            {"Host": "localhost:8787", "Origin": "http://localhost:8787"},
            {"Host": "[::1]:8787"},
        ):
            r = await c.get("/api/whoami", headers=headers)
            assert r.status_code == 200, (headers, r.text)
            assert r.json()["data"]["via"] == "loopback"

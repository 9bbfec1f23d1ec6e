"""The dashboard's serving (chasm.webui.spa) and loopback sign-in, over HTTP: no browser, no build
needed (each test points the SPA route at a folder of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chasm.webui import spa


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>Chasm</title><div id=app></div>")
    (folder / "assets" / "index-abc123.js").write_text("console.log('app')")
    return folder


def point_at(app: FastAPI, folder: Path) -> None:
    route = next(r for r in app.router.routes if isinstance(r, spa.SpaRoute))
    route.dist = folder


@pytest.fixture
async def web(app: FastAPI, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    point_at(app, dist)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50010))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        yield c


async def test_the_app_and_its_assets_are_served_at_root_and_every_client_route(
    web: httpx.AsyncClient,
) -> None:
    for path in ("/", "/chats", "/chats/0b4a3c1e-0000-4000-8000-000000000000", "/sandboxes/x", "/ops/keys"):
        response = await web.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "<div id=app>" in response.text
        assert response.headers["cache-control"] == "no-cache"

    # Hashed assets are cached for good; a missing one is a 404, not the app.
    asset = await web.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert "immutable" in asset.headers["cache-control"]
    assert (await web.get("/assets/index-gone.js")).status_code == 404
    assert (await web.get("/assets/%2e%2e/%2e%2e/pyproject.toml")).status_code == 404  # never outside dist


async def test_api_paths_keep_their_own_answers(web: httpx.AsyncClient) -> None:
    unknown_v1 = await web.get("/v1/no-such-thing")
    assert unknown_v1.status_code == 404
    assert unknown_v1.json()["error"]["code"] == "not_found"
    assert (await web.get("/api/v1/health")).json()["status"] == "healthy"
    assert (await web.get("/api-docs/openapi.json")).json()["info"]["title"] == "Chasm"
    assert (await web.get("/auth/me")).status_code == 401
    assert (await web.get("/api/v1/no-such-route")).status_code == 404  # not a 405 "GET allowed"
    assert (await web.get("/api/no-such-route")).status_code == 404
    assert (await web.post("/chats")).status_code in (404, 405)  # the app answers GET only
    assert not (await web.get("/v1/keys/x")).headers["content-type"].startswith("text/html")


async def test_without_a_build_root_explains_how_to_build(app: FastAPI, tmp_path: Path) -> None:
    point_at(app, tmp_path / "never-built")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50011))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        root = await c.get("/")
        deep = await c.get("/chats")
    assert root.status_code == 200
    assert "./scripts/bootstrap.sh" in root.text
    assert deep.status_code == 404 and "./scripts/bootstrap.sh" in deep.text


async def test_the_spa_route_is_not_in_the_openapi_document(app: FastAPI) -> None:
    assert "/{path}" not in app.openapi()["paths"]


async def test_local_token_signs_in_this_machines_browser(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/local-token", headers={"Origin": "http://127.0.0.1:8787"})

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["user"]["email"] == "owner@localhost"


async def test_local_token_refuses_what_is_not_this_machines_own_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    refused = [
        {"Host": "evil.example"},  # a DNS-rebinding page
        {"Origin": "http://evil.example"},  # another site's page
        {"Sec-Fetch-Site": "cross-site"},
        {"X-Forwarded-For": "203.0.113.9"},  # came through a proxy
    ]
    for headers in refused:
        response = await client.post("/auth/local-token", headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["error"]["code"] == "local_sign_in_closed"

    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50012))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as remote:
        assert (await remote.post("/auth/local-token")).status_code == 403

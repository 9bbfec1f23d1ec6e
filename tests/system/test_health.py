from __future__ import annotations

import re

import httpx


async def test_health_on_both_prefixes(client: httpx.AsyncClient) -> None:
    for path in ("/api/health", "/api/v1/health"):
        r = await client.get(path)
        assert r.status_code == 200
        body = r.json()
        if path == "/api/health":  # 003's envelope; 001's bare HealthResponse on /api/v1
            assert body["success"] is True
            body = body["data"]
        assert body["status"] == "healthy"
        assert body["version"]
        assert isinstance(body["uptime_seconds"], int)


async def test_unknown_routes_use_each_surface_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/does-not-exist")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "No route for GET /v1/does-not-exist"}}
    r = await client.get("/api/does-not-exist")
    assert r.status_code == 404
    assert r.json()["success"] is False
    assert r.json()["error"]["code"] == "NOT_FOUND"
    r = await client.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert r.json() == {
        "error": "Not Found",
        "message": "No route for GET /api/v1/does-not-exist",
        "code": "NOT_FOUND",
    }
    r = await client.delete("/api/v1/search")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert r.headers["allow"] == "GET, HEAD"


async def test_openapi_and_swagger_are_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/api-docs/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/health" in r.json()["paths"]
    r = await client.get("/swagger-ui")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
    # Every asset the page loads is served here (it works offline): nothing from another host.
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text) + re.findall(r"url: '([^']+)'", r.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        got = await client.get(asset)
        assert got.status_code == 200, asset
    assert "SwaggerUIBundle" in (await client.get("/swagger-ui/assets/swagger-ui-bundle.js")).text


async def test_oversized_body_is_413(client: httpx.AsyncClient, app) -> None:  # type: ignore[no-untyped-def]
    limit = app.state.settings.max_body_bytes
    r = await client.post("/api/health", content=b"x" * (limit + 1))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_oversized_chunked_body_is_413(admin: httpx.AsyncClient, app) -> None:  # type: ignore[no-untyped-def]
    limit = app.state.settings.max_body_bytes

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // (1024 * 1024) + 2):
            yield b"[" + b"1," * (512 * 1024 - 1)

    r = await admin.post("/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_lone_surrogates_are_refused_as_invalid_json(admin: httpx.AsyncClient) -> None:
    for path, body in (
        ("/v1/sessions", b'{"ephemeral": true, "env": {"A": "x\\ud800"}}'),
        ("/v1/jobs", b'{"kind": "sandbox.exec", "input": {"command": ["echo", "\\udfff"]}}'),
        ("/api/v1/settings", b'{"settings": {"ui": {"theme": ["\\uD800"]}}}'),
    ):
        r = await admin.request(
            "PUT" if "settings" in path else "POST",
            path,
            content=body,
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 400, (path, r.text)
        error = r.json()
        code = error["code"] if path.startswith("/api/v1/") else error["error"]["code"]
        assert code.lower() == "invalid_json", r.text
    body = '{"name": "emoji-\\ud83d\\ude00"}'
    paired = await admin.post("/v1/workspaces", content=body, headers={"content-type": "application/json"})
    assert paired.status_code != 400 or paired.json()["error"]["code"] != "invalid_json"


async def test_huge_offsets_are_refused_not_500(admin: httpx.AsyncClient) -> None:
    huge = 2**63
    for path in (
        f"/v1/sessions?offset={huge}",
        f"/v1/workspaces?offset={huge}",
        f"/v1/jobs?offset={huge}",
        f"/api/v1/sessions?offset={huge}",
        f"/api/v1/search?q=hello&offset={230_000_000_000_000_000}",
        f"/api/search?q=hello&offset={10_001}",
    ):
        r = await admin.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert (await admin.get("/api/v1/search?q=hello&offset=10000")).status_code == 200


async def test_invalid_proxy_urls_are_refused(admin: httpx.AsyncClient) -> None:
    for url in ("notaurl", "ftp://x:1", "http://x:99999", "http://x:port", "http://", "http://h:8080/p?q=1"):
        network = {"mode": "proxy", "proxy": {"url": url}}
        for path, body in (
            ("/v1/sessions", {"ephemeral": True, "network": network}),
            ("/v1/exec", {"command": "true", "network": network}),
        ):
            r = await admin.post(path, json=body)
            assert r.status_code == 422, (url, path, r.status_code, r.text)
            assert "proxy" in r.json()["error"]["message"], r.text


async def test_405_lists_every_allowed_method(admin: httpx.AsyncClient) -> None:
    r = await admin.put("/v1/workspaces")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    assert r.json()["error"]["code"] == "method_not_allowed"


async def test_oversized_url_and_headers_are_refused_in_shape(admin: httpx.AsyncClient) -> None:
    long_url = await admin.get("/v1/workspaces?x=" + "a" * 20_000)
    assert long_url.status_code == 414
    assert long_url.json()["error"]["code"] == "uri_too_long"
    big_headers = await admin.get("/v1/workspaces", headers={f"x-pad-{i}": "b" * 1000 for i in range(40)})
    assert big_headers.status_code == 431
    assert big_headers.json()["error"]["code"] == "headers_too_large"
    chat = await admin.get("/api/health", headers={"x-pad": "c" * 40_000})
    assert chat.status_code == 431 and chat.json()["success"] is False
    assert (await admin.get("/v1/workspaces?x=" + "a" * 1000)).status_code == 200


async def test_numbers_are_not_coerced_to_booleans_or_dates(admin: httpx.AsyncClient) -> None:
    for path, body in (
        ("/v1/workspaces", {"name": "coerced", "template": 0}),
        ("/v1/sessions", {"ephemeral": 1}),
        ("/v1/exec", {"command": "true", "background": "yes"}),
        ("/v1/jobs", {"kind": "session.terminate", "input": {"session_id": "x"}, "run_at": 1767225600}),
        ("/v1/keys", {"name": "k", "expires_at": 1767225600}),
    ):
        r = await admin.post(path, json=body)
        assert r.status_code == 422, (path, r.status_code, r.text)
    ok = await admin.post("/v1/keys", json={"name": "k", "expires_at": "2030-01-01T00:00:00Z"})
    assert ok.status_code == 201, ok.text


async def test_openapi_documents_the_platform_errors_really_sent(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api-docs/openapi.json")).json()
    error = schema["components"]["schemas"]["PlatformError"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    delete = schema["paths"]["/v1/workspaces/{ws}"]["delete"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(delete)
    create = schema["paths"]["/v1/workspaces"]["post"]["responses"]
    assert {"400", "409", "413", "422", "429"} <= set(create)
    for path, operations in schema["paths"].items():
        if path.startswith("/v1"):
            for operation in operations.values():
                for answer in operation["responses"].values():
                    assert "HTTPValidationError" not in str(answer), path

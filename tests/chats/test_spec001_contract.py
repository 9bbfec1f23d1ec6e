"""/api/v1 keeps spec 001's contract: every chat route's real answer, on a library harvested from the
real fixtures, validates against 001's schema for it (tests/chats/spec001.py), at the top level,
with 001's status codes (201 on create, 204 on DELETE) and 001's error object.

The table below names every /api/v1 route; a route added without a row fails
`test_every_v1_route_is_checked`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from spec001 import SCHEMAS, array, errors

from chasm.harvest import registry
from fakes.llm_server import FakeLLM
from shared_fixtures import TRANSCRIPTS

V1 = "/api/v1"

# (method, route path) -> (status, 001 schema name, or None where 001 gives the status only)
ROUTES: dict[tuple[str, str], tuple[int, Any]] = {
    ("GET", "/health"): (200, "HealthResponse"),
    ("GET", "/system/info"): (200, "SystemInfo"),
    ("POST", "/system/vacuum"): (200, None),
    ("POST", "/system/cache/clear"): (200, None),
    ("GET", "/settings"): (200, "Settings"),
    ("PUT", "/settings"): (200, "Settings"),
    ("GET", "/search"): (200, "SearchResults"),
    ("GET", "/search/semantic"): (200, "SemanticSearchResults"),
    ("POST", "/sync"): (200, "SyncResponse"),
    ("GET", "/search/sessions"): (200, array(SCHEMAS["Session"])),
    ("GET", "/search/messages"): (
        200,
        {"type": "object", "required": ["messages"], "properties": {"messages": array(SCHEMAS["Message"])}},
    ),
    ("GET", "/sessions/search"): (200, array(SCHEMAS["Session"])),
    ("GET", "/sessions/{id}/export"): (200, "Export"),
    ("GET", "/stats"): (200, None),
    ("GET", "/stats/overview"): (200, "StatsOverview"),
    ("GET", "/stats/providers"): (200, array(SCHEMAS["ProviderStats"])),
    ("GET", "/stats/models"): (200, None),
    ("GET", "/stats/timeline"): (200, array(SCHEMAS["TimelineStats"])),
    ("GET", "/workspaces"): (200, array(SCHEMAS["Workspace"])),
    ("POST", "/workspaces"): (201, "Workspace"),
    ("POST", "/workspaces/discover"): (200, array(SCHEMAS["Workspace"])),
    ("GET", "/workspaces/{id}"): (200, "Workspace"),
    ("PUT", "/workspaces/{id}"): (200, "Workspace"),
    ("DELETE", "/workspaces/{id}"): (204, None),
    ("POST", "/workspaces/{id}/refresh"): (200, None),
    ("GET", "/sessions"): (200, "SessionList"),
    ("POST", "/sessions"): (201, "Session"),
    ("POST", "/sessions/merge"): (200, "Session"),
    ("GET", "/sessions/{id}"): (200, "Session"),
    ("PUT", "/sessions/{id}"): (200, "Session"),
    ("DELETE", "/sessions/{id}"): (204, None),
    ("POST", "/sessions/{id}/archive"): (200, None),
    ("POST", "/sessions/{id}/fork"): (201, "Session"),
    ("GET", "/sessions/{id}/messages"): (200, array(SCHEMAS["Message"])),
    ("POST", "/sessions/{id}/messages"): (201, "Message"),
    ("POST", "/harvest"): (200, "HarvestResponse"),
    ("POST", "/harvest/upload"): (200, "HarvestResponse"),
    ("GET", "/harvest/status"): (200, None),
    ("GET", "/providers"): (200, array(SCHEMAS["Provider"])),
    ("GET", "/providers/{provider_id}"): (200, "Provider"),
    # Beyond 001 (docs/api.md): secrets found in the library, and their redaction.
    ("GET", "/secrets"): (200, None),
    ("POST", "/secrets/redact"): (200, None),
    ("POST", "/providers"): (201, "Provider"),
    ("PUT", "/providers/{provider_id}"): (200, "Provider"),
    ("DELETE", "/providers/{provider_id}"): (204, None),
    ("GET", "/providers/{provider_id}/health"): (200, "ProviderHealth"),
    ("GET", "/providers/{provider_id}/models"): (200, array(SCHEMAS["Model"])),
    ("POST", "/chat/completions"): (200, "ChatCompletionResponse"),
    # Agents and swarms: their answers are checked by tests/agents/test_agents_contract.py.
    ("GET", "/agents"): (200, None),
    ("POST", "/agents"): (201, None),
    ("GET", "/agents/{id}"): (200, None),
    ("PUT", "/agents/{id}"): (200, None),
    ("DELETE", "/agents/{id}"): (204, None),
    ("POST", "/agents/{id}/clone"): (201, None),
    ("POST", "/agents/{id}/run"): (200, None),
    ("POST", "/agents/{id}/run/stream"): (200, None),
    ("GET", "/agents/runs/{run_id}"): (200, None),
    ("POST", "/sessions/{id}/continue"): (200, None),
    ("GET", "/swarms"): (200, None),
    ("POST", "/swarms"): (201, None),
    ("GET", "/swarms/{id}"): (200, None),
    ("DELETE", "/swarms/{id}"): (204, None),
    ("POST", "/swarms/{id}/start"): (202, None),
    ("POST", "/swarms/{id}/pause"): (200, None),
    ("POST", "/swarms/{id}/resume"): (200, None),
    ("POST", "/swarms/{id}/stop"): (200, None),
}
# /api/v1 routes whose errors are OpenAI's error body (what the OpenAI SDKs read), not 001's.
OPENAI_COMPATIBLE = {"/api/v1/chat/completions"}


def check(r: httpx.Response, method: str, route: str) -> Any:
    status, schema = ROUTES[(method, route)]
    assert r.status_code == status, (method, route, r.text[:500])
    if status == 204:
        assert r.content == b""
        return None
    body = r.json()
    if isinstance(body, dict):
        assert "success" not in body and "data" not in body, (method, route, "envelope on /api/v1")
    if schema is not None:
        found = errors(body, SCHEMAS[schema] if isinstance(schema, str) else schema)
        assert found == [], (method, route, found[:10])
    return body


def check_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert errors(body, SCHEMAS["Error"]) == [], body
    assert body["code"] == code and "success" not in body, body


def test_every_v1_route_is_checked(app: FastAPI) -> None:
    served = set()
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not str(ctx.path).startswith(V1 + "/"):
            continue
        if getattr(route.endpoint, "chasm_fallback", False):
            continue
        for method in ctx.methods or ():
            served.add((method, str(ctx.path).removeprefix(V1)))
    assert served == set(ROUTES)


@pytest.fixture
async def library(client: httpx.AsyncClient, tmp_path: Path) -> dict[str, Any]:
    """The real fixtures harvested through /api/v1 (the loopback caller is the instance admin)."""
    sources = registry.get_registry().sources
    tree = tmp_path / "transcripts"
    shutil.copytree(TRANSCRIPTS, tree)
    roots = {name: [str(tree / name)] for name in sources if (tree / name).is_dir()}
    assert roots
    put = await client.put(f"{V1}/settings", json={"harvest": {"roots": roots}})
    check(put, "PUT", "/settings")
    harvested = check(
        await client.post(f"{V1}/harvest", json={"providers": sorted(roots)}), "POST", "/harvest"
    )
    assert harvested["sessions_count"] > 0
    return harvested


async def test_every_v1_chat_route_answers_001_schemas(
    client: httpx.AsyncClient, library: dict[str, Any], fake_llm: FakeLLM
) -> None:
    c = client

    async def call(method: str, route: str, path: str | None = None, **kw: Any) -> Any:
        return check(await c.request(method, V1 + (path or route), **kw), method, route)

    await call("GET", "/health")
    await call("GET", "/system/info")
    await call("POST", "/system/vacuum")
    await call("POST", "/system/cache/clear")
    await call("GET", "/settings")

    listed = await call("GET", "/sessions", params={"limit": 100})
    assert listed["total"] == library["sessions_count"] and listed["limit"] == 100
    assert (await call("GET", "/sessions"))["limit"] == 20  # 001's default page
    claude = await call("GET", "/sessions", params={"provider": "claude"})
    assert claude["total"] > 0 and {s["provider"] for s in claude["sessions"]} <= {
        "claude",
        "claude-code",
        "claude-ai-export",
    }
    roles: set[str] = set()
    tool_calls = 0
    for chat in listed["sessions"]:
        detail = await call("GET", "/sessions/{id}", f"/sessions/{chat['id']}")
        assert errors(detail["messages"], array(SCHEMAS["Message"])) == []
        roles |= {m["role"] for m in detail["messages"]}
        tool_calls += sum(len(m["tool_calls"]) for m in detail["messages"])
    assert roles <= {"user", "assistant", "system"} and tool_calls > 0
    first = listed["sessions"][0]["id"]
    page = await call("GET", "/sessions/{id}/messages", f"/sessions/{first}/messages", params={"limit": 5})
    assert 0 < len(page) <= 5
    await call("GET", "/sessions/{id}/export", f"/sessions/{first}/export")

    word = page[0]["content"].split()[0] if page[0]["content"].split() else "the"
    results = await call("GET", "/search", params={"q": word})
    assert results["total"] >= 1
    for hit in results["messages"]:
        assert {"snippet", "score", "content", "token_count", "session_id", "role"} <= set(hit)
    await call("GET", "/search/sessions", params={"q": word})
    await call("GET", "/search/messages", params={"q": word})
    await call("GET", "/sessions/search", params={"q": word})

    await call("GET", "/stats")
    await call("GET", "/stats/overview")
    await call("GET", "/stats/providers")
    await call("GET", "/stats/models")
    await call("GET", "/stats/timeline", params={"period": "month"})
    assert (await call("GET", "/secrets"))["total"] == 0  # the fixtures hold no secret
    await call("POST", "/secrets/redact", json={"chat_id": first})

    by_001_name = await call("POST", "/harvest", json={"providers": ["claude"]})
    assert set(by_001_name["providers_scanned"]) == {"claude-code", "claude-ai-export"}
    assert (await call("POST", "/harvest", json={"providers": ["ollama"]}))["providers_scanned"] == []
    providers = await call("GET", "/providers")
    await call("GET", "/providers/{provider_id}", f"/providers/{providers[0]['id']}")
    body = {"name": "local", "type": "custom", "base_url": fake_llm.openai_url, "api_key": fake_llm.api_key}
    made = await call("POST", "/providers", json=body)
    one = f"/providers/{made['id']}"
    await call("GET", "/providers/{provider_id}", one)
    await call("PUT", "/providers/{provider_id}", one, json={"default_model": "gpt-4o-mini"})
    assert (await call("GET", "/providers/{provider_id}/health", one + "/health"))["healthy"] is True
    assert await call("GET", "/providers/{provider_id}/models", one + "/models")
    ask = {"model": "local/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    answer = await call("POST", "/chat/completions", json=ask)
    assert answer["choices"][0]["message"]["content"] == "ok"
    await call("DELETE", "/providers/{provider_id}", one)
    await call("GET", "/harvest/status")

    workspaces = await call("POST", "/workspaces/discover")
    ws = await call("POST", "/workspaces", json={"name": "web", "path": "/srv/web"})
    assert [w for w in workspaces if w.get("provider")] and None not in ws.values()  # no nulls
    await call("GET", "/workspaces")
    await call("GET", "/workspaces/{id}", f"/workspaces/{ws['id']}")
    await call("PUT", "/workspaces/{id}", f"/workspaces/{ws['id']}", json={"name": "site"})
    harvested_ws = next(w for w in workspaces if w.get("provider"))
    await call("POST", "/workspaces/{id}/refresh", f"/workspaces/{harvested_ws['id']}/refresh")
    await call("DELETE", "/workspaces/{id}", f"/workspaces/{ws['id']}")

    made = await call(
        "POST",
        "/sessions",
        json={"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
    )
    assert made["title"] == ""  # untitled: still a string
    other = await call(
        "POST", "/sessions", json={"title": "two", "messages": [{"role": "user", "content": "a"}]}
    )
    await call("PUT", "/sessions/{id}", f"/sessions/{made['id']}", json={"title": "one", "tags": ["x"]})
    await call("POST", "/sessions/{id}/archive", f"/sessions/{made['id']}/archive")
    await call("POST", "/sessions/{id}/fork", f"/sessions/{made['id']}/fork")
    await call(
        "POST",
        "/sessions/{id}/messages",
        f"/sessions/{made['id']}/messages",
        json={"role": "user", "content": "z"},
    )
    await call("POST", "/sessions/merge", json={"session_ids": [made["id"], other["id"]]})
    await call("DELETE", "/sessions/{id}", f"/sessions/{made['id']}")

    upload = [("files", ("a.jsonl", (TRANSCRIPTS / "claude-code").rglob("*.jsonl").__next__().read_bytes()))]
    r = await c.post(f"{V1}/harvest/upload", files=upload, data={"source": "claude-code"})
    check(r, "POST", "/harvest/upload")


async def test_v1_errors_are_001_error_objects(client: httpx.AsyncClient) -> None:
    check_error(await client.get(f"{V1}/sessions/not-a-uuid"), 404, "SESSION_NOT_FOUND")
    check_error(
        await client.get(f"{V1}/sessions/00000000-0000-0000-0000-000000000000"), 404, "SESSION_NOT_FOUND"
    )
    check_error(await client.get(f"{V1}/workspaces/nope"), 404, "WORKSPACE_NOT_FOUND")
    check_error(await client.get(f"{V1}/sessions", params={"limit": 0}), 400, "VALIDATION_ERROR")
    check_error(
        await client.post(f"{V1}/sessions", json={"messages": [{"role": "x"}]}), 400, "VALIDATION_ERROR"
    )
    bad = await client.get(f"{V1}/sessions", params={"provider": "nope"})
    check_error(bad, 400, "UNKNOWN_PROVIDER")
    assert "copilot" in bad.json()["message"]
    check_error(await client.get(f"{V1}/search"), 400, "VALIDATION_ERROR")
    check_error(await client.get(f"{V1}/no-such-route"), 404, "NOT_FOUND")
    check_error(await client.delete(f"{V1}/search"), 405, "METHOD_NOT_ALLOWED")


async def test_api_keeps_003_envelope_and_answers_invalid_parameters_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/sessions", params={"limit": 0})
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["loc"] == ["query", "limit"]
    ok = (await client.get("/api/sessions")).json()
    assert ok["success"] is True and ok["data"]["limit"] == 50
    gone = await client.delete("/api/sessions/00000000-0000-0000-0000-000000000000")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "SESSION_NOT_FOUND"


def test_openapi_declares_each_surface_shapes(app: FastAPI) -> None:
    spec = app.openapi()
    refs = {"/api/v1": "#/components/schemas/Error", "/api": "#/components/schemas/ApiError"}
    for path, item in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        prefix = "/api/v1" if path.startswith("/api/v1/") else "/api"
        for method, op in item.items():
            responses = op["responses"]
            assert "422" not in responses, (method, path)
            ref = "#/components/schemas/OpenAIError" if path in OPENAI_COMPATIBLE else refs[prefix]
            assert responses["4XX"]["content"]["application/json"]["schema"]["$ref"] == ref
            ok = [code for code in responses if code.startswith("2")]
            assert ok, (method, path)
            for code in ok:
                if code == "204":
                    continue
                content = responses[code].get("content", {})
                assert content, (method, path, code)
    assert "HTTPValidationError" not in str({p: i for p, i in spec["paths"].items() if p.startswith("/api/")})


def test_v1_openapi_uses_001_names_and_no_nulls(app: FastAPI) -> None:
    """What /api/v1 declares is what it sends: 001's schema names, no nullable field."""
    spec = app.openapi()
    components = spec["components"]["schemas"]

    def reachable(node: Any, seen: set[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref.rsplit("/", 1)[1] not in seen:
                seen.add(ref.rsplit("/", 1)[1])
                reachable(components[ref.rsplit("/", 1)[1]], seen)
            for value in node.values():
                reachable(value, seen)
        elif isinstance(node, list):
            for value in node:
                reachable(value, seen)

    seen: set[str] = set()
    for path, item in spec["paths"].items():
        if path.startswith(V1 + "/"):
            for op in item.values():
                reachable({k: v for k, v in op["responses"].items() if k.startswith("2")}, seen)
    assert {"Session", "SessionDetail", "Message", "Workspace", "SearchResults", "StatsOverview"} <= seen
    assert {
        "ProviderStats",
        "TimelineStats",
        "HarvestResponse",
        "Provider",
        "HealthResponse",
        "SystemInfo",
    } <= seen
    for name in seen:
        assert '"null"' not in str(components[name]).replace("'", '"'), name
    assert components["Message"]["properties"]["role"]["enum"] == ["user", "assistant", "system"]

"""Scope enforcement, table-driven from the routes themselves: it covers every /v1 route any domain
adds, and every route of the chat surface (/api and /api/v1) too.

1. Every HTTP route under /v1 authenticates: its dependency tree contains `get_actor` (directly,
   through `CurrentActor`, or through `require_scope(...)`).
2. Every route guarded by `require_scope(X)` answers 403 `insufficient_scope` to a key that holds
   only some other scope, whatever its path parameters and body. FastAPI resolves dependencies
   before it validates path, query and body values, so the scope check always comes first (the one
   thing parsed earlier is the raw JSON body, which is why the probe sends `{}`).

3. Every chat route (both prefixes) declares a scope through `require_chat_scope(X)` (the
   `ChatReader`, `ChatWriter`, `HarvestRunner`, `SettingsWriter`, `SystemAdmin` aliases), so a new
   chat route without one fails here, and answers a key without it 403 in the chat envelope.

WebSocket routes under /v1 are not in this table: they authenticate in the handler, before accepting
the connection (browsers cannot send an Authorization header on a WebSocket). The chat surface has
WebSocket routes `/ws` and `/ws/recording`, checked by their own tests; a test lists them, so that one
added later is brought into this table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from auth.idhelpers import client_for, make_key
from chasm.auth.deps import get_actor, get_chat_actor, require_chat_scope, require_scope
from chasm.auth.scopes import CHAT_SCOPES, SCOPES

# (method, path) of /v1 routes that are public on purpose, each with the reason next to it.
PUBLIC_V1_ROUTES: set[tuple[str, str]] = {
    ("POST", "/v1/billing/stripe/webhook"),  # Stripe calls it; the event's signature authenticates it
}
# The same for the chat surface.
# /api/v1 routes answering OpenAI's error body (what the OpenAI SDKs read), not 001's.
OPENAI_COMPATIBLE_ROUTES = {"/api/v1/chat/completions"}
PUBLIC_CHAT_ROUTES: set[tuple[str, str]] = {
    ("GET", "/api/health"),  # liveness probe: status, version, uptime only
    ("GET", "/api/v1/health"),
}


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def routes_under(app: FastAPI, prefix: str) -> Iterator[tuple[str, str, list[Any]]]:
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, APIRoute) or not str(ctx.path).startswith(prefix):
            continue
        if getattr(ctx.original_route.endpoint, "chasm_fallback", False):
            continue  # a chat surface's catch-all: answers 404/405 only
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                yield method, str(ctx.path), list(_calls(ctx.dependant))


def v1_routes(app: FastAPI) -> Iterator[tuple[str, str, list[Any]]]:
    return routes_under(app, "/v1")


def chat_routes(app: FastAPI) -> Iterator[tuple[str, str, list[Any]]]:
    return routes_under(app, "/api/")


def required_scopes(calls: list[Any]) -> set[str]:
    return {c.scope for c in calls if isinstance(c, require_scope)}


def dummy_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


def other_scope(needed: set[str], pool: tuple[str, ...]) -> str:
    return next(s for s in pool if s not in needed)


async def test_every_v1_route_authenticates(app: FastAPI) -> None:
    routes = list(v1_routes(app))
    assert any(path == "/v1/keys" for _, path, _ in routes)
    offenders = [
        f"{method} {path}"
        for method, path, calls in routes
        if get_actor not in calls and (method, path) not in PUBLIC_V1_ROUTES
    ]
    assert offenders == [], f"/v1 routes without get_actor/require_scope: {offenders}"


async def test_every_scoped_route_refuses_a_key_without_its_scope(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    keys: dict[str, str] = {}
    checked = 0
    failures = []
    for method, path, calls in v1_routes(app):
        needed = required_scopes(calls)
        if not needed:
            continue
        other = next(s for s in SCOPES if s not in needed)
        if other not in keys:
            keys[other] = await make_key(admin, f"only {other}", scopes=[other])
        async with client_for(app, keys[other]) as c:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await c.request(method, dummy_path(path), json=body)
        checked += 1
        if r.status_code != 403 or r.json().get("error", {}).get("code") != "insufficient_scope":
            failures.append(
                f"{method} {path} needs {sorted(needed)}; key with {other} got {r.status_code} {r.text[:200]}"
            )
    assert failures == []
    assert checked >= 6  # the identity routes alone have this many


async def test_scope_is_checked_before_the_body_is_validated(app: FastAPI, admin: httpx.AsyncClient) -> None:
    reader = await make_key(admin, scopes=["keys.read"])
    async with client_for(app, reader) as c:
        for body in ({}, {"name": 5, "unknown": True}, [1, 2]):
            r = await c.post("/v1/keys", json=body)
            assert r.status_code == 403, body
            assert r.json()["error"]["code"] == "insufficient_scope"
        r = await c.delete("/v1/keys/not-a-uuid")
        assert r.status_code == 403
        # Only a body that is not JSON at all is refused before the scope check.
        r = await c.post("/v1/keys", content=b"{", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_json"


async def test_every_chat_route_declares_a_scope(app: FastAPI) -> None:
    routes = list(chat_routes(app))
    paths = {path for _, path, _ in routes}
    assert {"/api/sessions", "/api/v1/sessions", "/api/v1/harvest/upload", "/api/settings"} <= paths
    offenders = [
        f"{method} {path}"
        for method, path, calls in routes
        if (method, path) not in PUBLIC_CHAT_ROUTES
        and (get_chat_actor not in calls or not any(isinstance(c, require_chat_scope) for c in calls))
    ]
    assert offenders == [], f"chat routes without require_chat_scope: {offenders}"
    assert {s for _, _, calls in routes for s in required_scopes(calls)} == set(CHAT_SCOPES)


async def test_chat_surface_has_no_unchecked_websocket(app: FastAPI) -> None:
    sockets = [
        str(ctx.path)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.original_route, APIWebSocketRoute) and str(ctx.path).startswith(("/api", "/ws"))
    ]
    # Each authenticates in its handler (auth.deps.websocket_chat_actor) and checks its scope:
    # tests/recording (chats.write refused a chats.read key), tests/realtime (chats.read).
    checked = {"/ws/recording", "/ws"}
    unchecked = [path for path in sockets if path not in checked]
    assert unchecked == [], "a chat WebSocket route must authenticate and check a scope; add it here"


async def test_every_chat_route_refuses_a_key_without_its_scope(
    app: FastAPI, admin: httpx.AsyncClient
) -> None:
    keys: dict[str, str] = {}
    checked = 0
    failures = []
    for method, path, calls in chat_routes(app):
        needed = required_scopes(calls)
        if not needed:
            continue
        other = other_scope(needed, CHAT_SCOPES)
        if other not in keys:
            keys[other] = await make_key(admin, f"only {other}", scopes=[other])
        async with client_for(app, keys[other]) as c:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await c.request(method, dummy_path(path), json=body)
        checked += 1
        expected = {
            "code": "INSUFFICIENT_SCOPE",
            "message": f"This key lacks the '{sorted(needed)[0]}' scope",
        }
        # 001's error object on /api/v1, 003's envelope on /api, OpenAI's on its compatible routes
        shaped = (
            {"error": "Forbidden", **expected}
            if path.startswith("/api/v1/")
            else {"success": False, "error": expected}
        )
        if path in OPENAI_COMPATIBLE_ROUTES:
            message = expected["message"]
            error = {
                "message": message,
                "type": "permission_error",
                "code": "insufficient_scope",
                "param": None,
            }
            shaped = {"error": error}
        if r.status_code != 403 or r.json() != shaped:
            failures.append(
                f"{method} {path} needs {sorted(needed)}; key with {other} got {r.status_code} {r.text[:200]}"
            )
    assert failures == []
    assert checked >= 60  # about 30 routes, on both prefixes


async def test_a_read_only_key_cannot_change_the_library(app: FastAPI, admin: httpx.AsyncClient) -> None:
    """The issue's case: a `sessions.read` key (a platform scope) wrote through the chat surface."""
    created = await admin.post("/api/v1/sessions", json={"title": "kept", "provider": "manual"})
    assert created.status_code == 201, created.text
    chat_id = created.json()["id"] if "id" in created.json() else created.json()["data"]["id"]
    reader = await make_key(admin, "platform reader", scopes=["sessions.read"])
    chats_reader = await make_key(admin, "chat reader", scopes=["chats.read"])
    async with client_for(app, reader) as c:
        for method, path in (
            ("DELETE", f"/api/v1/sessions/{chat_id}"),
            ("PUT", f"/api/sessions/{chat_id}"),
            ("POST", f"/api/v1/sessions/{chat_id}/archive"),
            ("POST", "/api/v1/system/vacuum"),
            ("PUT", "/api/settings"),
            ("POST", "/api/v1/harvest"),
            ("GET", f"/api/v1/sessions/{chat_id}"),
        ):
            r = await c.request(method, path, json={} if method != "GET" and method != "DELETE" else None)
            assert r.status_code == 403, (method, path, r.text)
    async with client_for(app, chats_reader) as c:
        assert (await c.get(f"/api/v1/sessions/{chat_id}")).status_code == 200
        assert (await c.delete(f"/api/v1/sessions/{chat_id}")).status_code == 403
    assert (await admin.get(f"/api/v1/sessions/{chat_id}")).status_code == 200

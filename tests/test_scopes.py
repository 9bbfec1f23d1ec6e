"""Scope enforcement, table-driven from the routes themselves: it covers every /v1 route any domain adds.

1. Every HTTP route under /v1 authenticates: its dependency tree contains `get_actor` (directly,
   through `CurrentActor`, or through `require_scope(...)`).
2. Every route guarded by `require_scope(X)` answers 403 `insufficient_scope` to a key that holds
   only some other scope, whatever its path parameters and body. FastAPI resolves dependencies
   before it validates path, query and body values, so the scope check always comes first (the one
   thing parsed earlier is the raw JSON body, which is why the probe sends `{}`).

WebSocket routes under /v1 are not in this table: they authenticate in the handler, before accepting
the connection (browsers cannot send an Authorization header on a WebSocket).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from auth.idhelpers import client_for, make_key
from chasm.auth.deps import get_actor, require_scope
from chasm.auth.scopes import SCOPES

# (method, path) of /v1 routes that are public on purpose, each with the reason next to it.
PUBLIC_V1_ROUTES: set[tuple[str, str]] = set()


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def v1_routes(app: FastAPI) -> Iterator[tuple[str, str, list[Any]]]:
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, APIRoute) or not str(ctx.path).startswith("/v1"):
            continue
        for method in sorted(ctx.methods or ()):
            if method != "HEAD":
                yield method, str(ctx.path), list(_calls(ctx.dependant))


def required_scopes(calls: list[Any]) -> set[str]:
    return {c.scope for c in calls if isinstance(c, require_scope)}


def dummy_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


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

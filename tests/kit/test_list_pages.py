"""Every /v1 list answers one page shape `{items, total, limit, offset}` with `limit`/`offset`
checked the same way (docs/api.md, Lists)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

PAGE_KEYS = {"items", "total", "limit", "offset"}
BAD_PAGING = ({"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"offset": -1}, {"offset": 2**63})


def _list_routes(app: FastAPI) -> tuple[list[str], list[str]]:
    """(GET routes of /v1 and /auth answering a JSON array, those answering a page)."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    bare, pages = [], []
    for path, ops in spec["paths"].items():
        if not path.startswith(("/v1", "/auth")) or "get" not in ops:
            continue
        content = ops["get"]["responses"].get("200", {}).get("content", {}).get("application/json", {})
        schema: dict[str, Any] = content.get("schema", {})
        if schema.get("type") == "array":
            bare.append(path)
        ref = schema.get("$ref", "")
        if ref and set(schemas[ref.rsplit("/", 1)[1]].get("properties", {})) >= PAGE_KEYS:
            pages.append(path)
    return bare, pages


async def test_every_platform_list_answers_a_page(app: FastAPI, admin: httpx.AsyncClient) -> None:
    bare, pages = _list_routes(app)
    assert bare == []
    assert {
        "/v1/sessions",
        "/v1/sessions/{session_id}/commands",
        "/v1/workspaces",
        "/v1/workspaces/{ws}/snapshots",
        "/v1/jobs",
        "/v1/jobs/kinds",
        "/v1/keys",
        "/v1/ssh-keys",
        "/v1/accounts",
        "/v1/accounts/current/members",
        "/v1/accounts/current/service-accounts",
        "/v1/accounts/current/service-accounts/{said}/keys",
        "/v1/invites",
        "/v1/webhooks",
        "/v1/webhooks/deliveries",
        "/v1/webhooks/event-types",
        "/v1/audit/events",
        "/v1/billing/usage",
    } <= set(pages)
    for path in pages:
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        for params in BAD_PAGING:
            r = await admin.get(concrete, params=params)
            assert r.status_code == 422, (path, params, r.text)
            assert r.json()["error"]["code"] == "validation_error"
        if concrete != path:
            continue
        r = await admin.get(path)
        assert r.status_code == 200, (path, r.text)
        page = r.json()
        assert set(page) >= PAGE_KEYS, path
        assert (page["limit"], page["offset"]) == (50, 0)
        assert len(page["items"]) == min(page["total"], 50), path
        r = await admin.get(path, params={"limit": 500, "offset": 2**31 - 1})
        assert r.status_code == 200 and r.json()["items"] == [], path


async def test_pages_split_the_list_without_overlap(admin: httpx.AsyncClient) -> None:
    for n in range(4):
        assert (await admin.post("/v1/keys", json={"name": f"page-{n}"})).status_code == 201
    whole = (await admin.get("/v1/keys")).json()
    assert whole["total"] == 5  # and the bootstrap key
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = (await admin.get("/v1/keys", params={"limit": 2, "offset": offset})).json()
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, offset)
        seen += [k["id"] for k in page["items"]]
    assert seen == [k["id"] for k in whole["items"]]  # newest first, each key once
    assert [k["name"] for k in whole["items"][:4]] == ["page-3", "page-2", "page-1", "page-0"]

    events = await admin.get("/v1/audit/events", params={"action": "api_key.create", "limit": 1})
    assert events.json()["total"] == 5 and len(events.json()["items"]) == 1
    none = await admin.get("/v1/audit/events", params={"action": "no.such.action"})
    assert none.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}

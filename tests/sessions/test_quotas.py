"""Quotas per account plan: a self-registered user (plan free) cannot exceed them; the instance
administrator (the bootstrap owner) has none."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chasm.config import Settings
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small numbers, so the tests start few sandboxes; the paid plan (the bootstrap owner's)
    # gets the smallest of all, which the administrator ignores.
    return settings.model_copy(
        update={
            "quota_plans": {
                "free": {
                    "live_sessions": 2,
                    "sessions_per_minute": 4,
                    "ephemeral_only": True,
                    "organizations": 1,
                    "background_commands": 2,
                },
                "paid": {
                    "live_sessions": 1,
                    "sessions_per_minute": 1,
                    "memory_bytes": 1,
                    "organizations": 0,
                    "background_commands": 0,
                },
            },
            "quota_memory_bytes": 3 * 512 * 1024**2,
        }
    )


async def _register(client: httpx.AsyncClient, app: FastAPI) -> httpx.AsyncClient:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    r = await client.post("/auth/register", json={"email": email, "password": "correct horse 1"})
    assert r.status_code == 201, r.text
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50010))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8787",
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
    )


@pytest.fixture
async def user(client: httpx.AsyncClient, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _register(client, app) as c:
        yield c


def _refused(response: httpx.Response, status: int, limit: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert f"quota '{limit}'" in error["message"]
    assert error["details"]["limit"] == limit
    return error


async def test_new_accounts_are_on_the_free_plan(user: httpx.AsyncClient) -> None:
    accounts = (await user.get("/v1/accounts")).json()["items"]
    assert [a["plan"] for a in accounts] == ["free"]


async def test_live_sessions_are_capped_and_freed_by_termination(user: httpx.AsyncClient) -> None:
    first = await create_session(user)
    await create_session(user)
    error = _refused(await user.post("/v1/sessions", json={"ephemeral": True}), 403, "live_sessions")
    assert "of plan 'free' is 2" in error["message"]
    # POST /v1/exec starts a session too and is refused the same way.
    _refused(await user.post("/v1/exec", json={"command": "true"}), 403, "live_sessions")
    assert (await user.delete(f"/v1/sessions/{first['id']}")).status_code == 200
    await create_session(user)


async def test_concurrent_creates_get_exactly_the_quota(user: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(user.post("/v1/sessions", json={"ephemeral": True}) for _ in range(8)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 201] + [403] * 6, [r.text for r in responses]
    listed = (await user.get("/v1/sessions", params={"status": "running"})).json()
    assert listed["total"] == 2


async def test_sessions_per_minute_is_a_429_with_retry_after(user: httpx.AsyncClient, app: FastAPI) -> None:
    app.state.settings.quota_plans["free"]["live_sessions"] = 10
    for _ in range(4):
        session = await create_session(user)
        assert (await user.delete(f"/v1/sessions/{session['id']}")).status_code == 200
    response = await user.post("/v1/sessions", json={"ephemeral": True})
    _refused(response, 429, "sessions_per_minute")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_memory_total_is_capped(user: httpx.AsyncClient, app: FastAPI) -> None:
    app.state.settings.quota_plans["free"].update(live_sessions=10, memory_bytes=512 * 1024**2)
    await create_session(user)
    _refused(await user.post("/v1/sessions", json={"ephemeral": True}), 403, "memory_bytes")


async def test_free_plan_is_ephemeral_only(user: httpx.AsyncClient) -> None:
    ws = await user.post("/v1/workspaces", json={"session_type": "sandbox", "name": "mine"})
    assert ws.status_code == 201, ws.text
    try:
        response = await user.post("/v1/sessions", json={"workspace": "mine", "ephemeral": False})
        _refused(response, 403, "ephemeral_only")
    finally:
        assert (await user.delete("/v1/workspaces/mine")).status_code in (200, 202, 204)


async def test_second_user_is_limited_while_the_first_is_not(
    user: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    await create_session(user)
    await create_session(user)
    async with await _register(client, app) as other:
        # Quotas are per account: another user still gets the plan's share ...
        await create_session(other)
        # ... and the first still cannot exceed its own.
        _refused(await user.post("/v1/sessions", json={"ephemeral": True}), 403, "live_sessions")


async def test_the_instance_administrator_is_unlimited(admin: httpx.AsyncClient) -> None:
    # The bootstrap owner's plan (paid) allows 1 live session, 1 per minute and 1 byte of memory
    # in this test's settings: none of it applies to the administrator.
    for _ in range(3):
        await create_session(admin)
    ran = await admin.post("/v1/exec", json={"command": "echo ok"})
    assert ran.status_code == 200, ran.text


async def test_disk_total_caps_the_quotas_of_new_workspaces(
    user: httpx.AsyncClient, admin: httpx.AsyncClient, app: FastAPI
) -> None:
    settings = app.state.settings
    settings.workspace_quota_bytes = 32 * 1024**2
    settings.quota_plans["free"]["disk_bytes"] = 48 * 1024**2
    settings.quota_plans["paid"]["disk_bytes"] = 1
    made: list[tuple[httpx.AsyncClient, str]] = []
    try:
        sizes = []
        for name in ("one", "two"):
            r = await user.post("/v1/workspaces", json={"session_type": "sandbox", "name": name})
            assert r.status_code == 201, r.text
            made.append((user, name))
            sizes.append(r.json()["quota_bytes"])
        assert sizes == [32 * 1024**2, 16 * 1024**2]
        refused = await user.post("/v1/workspaces", json={"session_type": "sandbox", "name": "three"})
        _refused(refused, 403, "disk_bytes")
        # The administrator's plan allows 1 byte here; the administrator has no quota.
        r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "name": "admins"})
        assert r.status_code == 201, r.text
        made.append((admin, "admins"))
    finally:
        for owner, name in made:
            await owner.delete(f"/v1/workspaces/{name}")


async def test_organizations_do_not_multiply_a_users_quotas(
    user: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """Each organization has its own quotas, so the plan caps how many a user owns: else one
    registration could start `live_sessions` sandboxes in as many organizations as it liked."""
    first = await user.post("/v1/accounts/organizations", json={"name": f"org-{uuid.uuid4().hex[:6]}"})
    assert first.status_code == 201, first.text
    error = _refused(
        await user.post("/v1/accounts/organizations", json={"name": f"org-{uuid.uuid4().hex[:6]}"}),
        403,
        "organizations",
    )
    assert error["details"] == {"limit": "organizations", "value": 1, "plan": "free"}
    # Acting in the organization does not change whose plan counts.
    in_org = {"X-Chaser-Account": first.json()["id"]}
    again = await user.post("/v1/accounts/organizations", json={"name": "another"}, headers=in_org)
    _refused(again, 403, "organizations")
    # The instance administrator's plan (paid) allows none here; the administrator is not limited.
    for _ in range(2):
        made = await admin.post("/v1/accounts/organizations", json={"name": f"org-{uuid.uuid4().hex[:6]}"})
        assert made.status_code == 201, made.text


async def test_background_commands_per_session_are_capped_by_the_plan(
    user: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    background = {"command": "sleep 30", "background": True}
    mine = await create_session(user)
    for _ in range(2):
        started = await user.post(f"/v1/sessions/{mine['id']}/exec", json=background)
        assert started.status_code == 200, started.text
    refused = await user.post(f"/v1/sessions/{mine['id']}/exec", json=background)
    error = _refused(refused, 403, "background_commands")
    assert error["details"] == {"limit": "background_commands", "value": 2, "plan": "free"}
    # A foreground command is not a background one.
    ran = await user.post(f"/v1/sessions/{mine['id']}/exec", json={"command": "echo ok"})
    assert ran.status_code == 200 and ran.json()["output"] == "ok\n", ran.text
    # The administrator's plan (paid) allows none in this test's settings; it does not apply to them.
    theirs = await create_session(admin)
    for _ in range(3):
        started = await admin.post(f"/v1/sessions/{theirs['id']}/exec", json=background)
        assert started.status_code == 200, started.text

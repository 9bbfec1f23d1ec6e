"""Rate limits: per-principal and per-account budgets, headers, and a budget shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from redis.asyncio import Redis

from chasm.app import create_app
from chasm.auth.ratelimit import rate_limited
from chasm.config import Settings
from chasm.kit.ratelimit import MemoryRateLimitBackend, RedisRateLimitBackend

REDIS_URL = "redis://127.0.0.1:6379/15"


def _limited_app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.post("/v1/ping", dependencies=[Depends(rate_limited("ping"))])
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    @router.post("/v1/other", dependencies=[Depends(rate_limited("other"))])
    async def other() -> dict[str, bool]:
        return {"pong": True}

    application = create_app(settings)
    application.include_router(router)
    return application


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings.rate_limit_principal = 3
    settings.rate_limit_account = 5
    settings.rate_limit_window_s = 3600
    application = _limited_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50001))
        headers = {"Authorization": f"Bearer {application.state.bootstrap_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
            yield application, c


async def _service_account_key(client: httpx.AsyncClient) -> str:
    """A key of another principal (a service account) in the same account."""
    created = await client.post("/v1/accounts/current/service-accounts", json={"name": "bot"})
    assert created.status_code == 201, created.text
    said = created.json()["id"]
    response = await client.post(f"/v1/accounts/current/service-accounts/{said}/keys", json={"name": "bot"})
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


async def test_principal_budget_then_429_with_headers(limited: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = limited
    for expected_remaining in (2, 1, 0):
        ok = await client.post("/v1/ping")
        assert ok.status_code == 200
        assert ok.headers["X-RateLimit-Limit"] == "3"
        assert ok.headers["X-RateLimit-Remaining"] == str(expected_remaining)
        assert ok.headers["X-RateLimit-Scope"] == "principal"
    refused = await client.post("/v1/ping")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Scope"] == "principal"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) >= 1
    assert int(refused.headers["X-RateLimit-Reset"]) > 0
    # Another surface has its own budget.
    assert (await client.post("/v1/other")).status_code == 200


async def test_account_budget_is_shared_by_principals(limited: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = limited
    second = await _service_account_key(client)
    for _ in range(3):
        assert (await client.post("/v1/ping")).status_code == 200
    assert (await client.post("/v1/ping", headers={"Authorization": f"Bearer {second}"})).status_code == 200
    last = await client.post("/v1/ping", headers={"Authorization": f"Bearer {second}"})
    assert last.status_code == 200
    assert last.headers["X-RateLimit-Scope"] == "account"
    assert last.headers["X-RateLimit-Remaining"] == "0"
    refused = await client.post("/v1/ping", headers={"Authorization": f"Bearer {second}"})
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Scope"] == "account"
    assert refused.headers["X-RateLimit-Limit"] == "5"


async def test_disabled_limits_let_everything_through(settings: Settings) -> None:
    settings.rate_limit_enabled = False
    settings.rate_limit_principal = 1
    application = _limited_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50001))
        headers = {"Authorization": f"Bearer {application.state.bootstrap_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
            for _ in range(4):
                response = await c.post("/v1/ping")
                assert response.status_code == 200
                assert "X-RateLimit-Limit" not in response.headers


async def test_unauthenticated_requests_are_refused_before_counting(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, _ = limited
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as anonymous:
        assert (await anonymous.post("/v1/ping")).status_code == 401


async def test_memory_backend_counts_per_key() -> None:
    backend = MemoryRateLimitBackend()
    assert (await backend.hit("a", 60)).count == 1
    assert (await backend.hit("a", 60)).count == 2
    assert (await backend.hit("b", 60)).count == 1
    await backend.close()


async def test_redis_backend_shares_one_budget_between_processes() -> None:
    prefix = f"chasm-test-{uuid.uuid4().hex}:"
    first = RedisRateLimitBackend(REDIS_URL, prefix)
    second = RedisRateLimitBackend(REDIS_URL, prefix)
    try:
        counts = [(await backend.hit("k", 60)).count for backend in (first, second, first, second)]
        assert counts == [1, 2, 3, 4]
        redis = Redis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        assert len(keys) == 1
        assert 0 < await redis.ttl(keys[0]) <= 61
        await redis.delete(*keys)
        await redis.aclose()
    finally:
        await first.close()
        await second.close()


async def test_two_servers_on_redis_share_the_principal_budget(settings: Settings) -> None:
    """Two app instances (two server processes) counting in one Redis refuse together."""
    settings.rate_limit_principal = 3
    settings.rate_limit_window_s = 3600
    prefix = f"chasm-test-{uuid.uuid4().hex}:"
    first = _limited_app(settings)
    async with first.router.lifespan_context(first):
        second = _limited_app(settings.model_copy(update={"bootstrap_admin": False}))
        async with second.router.lifespan_context(second):
            for application in (first, second):
                await application.state.ratelimiter.close()
                application.state.ratelimiter = RedisRateLimitBackend(REDIS_URL, prefix)
            headers = {"Authorization": f"Bearer {first.state.bootstrap_key}"}
            statuses = []
            for application in (first, second, first, second):
                transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50001))
                async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
                    statuses.append((await c.post("/v1/ping")).status_code)
            assert statuses == [200, 200, 200, 429]
            redis = Redis.from_url(REDIS_URL)
            keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
            await redis.delete(*keys)
            await redis.aclose()

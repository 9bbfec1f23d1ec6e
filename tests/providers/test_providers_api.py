"""Providers API (spec 001 /providers, both chat surfaces): model providers next to the harvest
sources, keys sealed and never shown, health and models from the real (fake) API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from provider_helpers import make_provider
from sqlalchemy import select

from chasm.models import ModelProvider
from fakes.llm_server import FakeLLM


async def test_create_get_update_delete_and_list_with_harvest_sources(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    made = await make_provider(client, fake_llm, name="local-vllm", default_model="gpt-4o-mini")
    assert made["kind"] == "model" and made["type"] == "custom" and made["is_default"] is True
    assert made["has_api_key"] is True and "api_key" not in made
    assert made["base_url"] == fake_llm.openai_url

    listed = (await client.get("/api/v1/providers")).json()
    kinds = {p["kind"] for p in listed}
    assert kinds == {"model", "harvest"}
    assert [p["name"] for p in listed if p["kind"] == "model"] == ["local-vllm"]
    harvest = next(p for p in listed if p["kind"] == "harvest")
    assert {"source", "found", "paths", "chat_count"} <= set(harvest)  # harvest fields as before
    assert (await client.get(f"/api/v1/providers/{harvest['id']}")).json()["kind"] == "harvest"

    got = (await client.get(f"/api/providers/{made['id']}")).json()
    assert got["success"] is True and got["data"]["name"] == "local-vllm"

    put = await client.put(
        f"/api/v1/providers/{made['id']}", json={"name": "vllm", "enabled": False, "models": ["a", "b"]}
    )
    assert put.status_code == 200, put.text
    assert (
        put.json()["name"] == "vllm" and put.json()["enabled"] is False and put.json()["models"] == ["a", "b"]
    )
    assert put.json()["has_api_key"] is True  # a key left out is kept

    dup = await client.post("/api/v1/providers", json={"name": "VLLM", "type": "openai"})
    assert dup.status_code == 409 and dup.json()["code"] == "PROVIDER_EXISTS"
    bad = await client.post("/api/v1/providers", json={"name": "x", "type": "cursor"})
    assert bad.status_code == 400 and "harvest source" in bad.json()["message"]
    nourl = await client.post("/api/providers", json={"name": "y", "type": "custom"})
    assert nourl.status_code == 400 and nourl.json()["error"]["code"] == "BASE_URL_REQUIRED"

    gone = await client.delete(f"/api/v1/providers/{made['id']}")
    assert gone.status_code == 204
    missing = await client.get(f"/api/v1/providers/{made['id']}")
    assert missing.status_code == 404 and missing.json()["code"] == "PROVIDER_NOT_FOUND"
    assert (await client.get("/api/v1/providers/{}/health".format(made["id"]))).status_code == 404


async def test_api_key_is_sealed_at_rest_and_never_returned(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    secret = "sk-very-secret-" + "x" * 20
    fake_llm.api_key = secret
    made = await make_provider(client, fake_llm, kind="openai")
    seen = [
        (await client.get("/api/v1/providers")).text,
        (await client.get(f"/api/v1/providers/{made['id']}")).text,
        (await client.put(f"/api/providers/{made['id']}", json={"default_model": "gpt-4o"})).text,
    ]
    assert all(secret not in text for text in seen)
    async with app.state.sessionmaker() as db:
        row = await db.scalar(select(ModelProvider).where(ModelProvider.name == "openai"))
        assert row is not None and row.api_key_sealed and secret not in row.api_key_sealed
    # The sealed key works: the provider answers with it.
    health = (await client.get(f"/api/v1/providers/{made['id']}/health")).json()
    assert health["healthy"] is True, health
    assert fake_llm.requests[-1].headers["authorization"] == f"Bearer {secret}"

    # A wrong key: unhealthy with the provider's reason, and the key is not in the error.
    wrong = "sk-wrong-" + "y" * 20
    await client.put(f"/api/v1/providers/{made['id']}", json={"api_key": wrong})
    health = (await client.get(f"/api/v1/providers/{made['id']}/health")).json()
    assert health["healthy"] is False and "credentials refused" in health["error"]
    assert wrong not in health["error"] and isinstance(health["latency_ms"], int)


async def test_health_and_models_call_the_provider(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    fake_llm.models = ["gpt-4o-mini", "llama-3.1-8b"]
    openai_like = await make_provider(client, fake_llm, name="compat")
    claude = await make_provider(client, fake_llm, kind="anthropic")
    for made in (openai_like, claude):
        health = (await client.get(f"/api/v1/providers/{made['id']}/health")).json()
        assert health["healthy"] is True and health["latency_ms"] >= 0 and health["last_checked"]
        models = (await client.get(f"/api/v1/providers/{made['id']}/models")).json()
        assert [m["id"] for m in models] == ["gpt-4o-mini", "llama-3.1-8b"]
    assert "anthropic-version" in fake_llm.requests[-1].headers  # the Anthropic SDK's own call
    enveloped = (await client.get(f"/api/providers/{claude['id']}/models")).json()
    assert enveloped["success"] is True and len(enveloped["data"]) == 2

    fake_llm.stop()  # the provider is down: unhealthy, and its models cannot be listed
    down = (await client.get(f"/api/v1/providers/{openai_like['id']}/health")).json()
    assert down["healthy"] is False and "cannot connect" in down["error"]
    r = await client.get(f"/api/v1/providers/{openai_like['id']}/models")
    assert r.status_code == 502 and r.json()["code"] == "PROVIDER_UNAVAILABLE"


async def test_another_account_sees_none_of_them_and_may_not_point_at_private_addresses(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    from auth.idhelpers import client_for, register

    mine = await make_provider(client, fake_llm, name="mine")
    body = await register(client, "other-provider-user@example.com")
    async with client_for(app, body["access_token"]) as other:
        listed = (await other.get("/api/v1/providers")).json()
        assert [p for p in listed if p["kind"] == "model"] == []
        for path in ("", "/health", "/models"):
            r = await other.get(f"/api/v1/providers/{mine['id']}{path}")
            assert r.status_code == 404 and r.json()["code"] == "PROVIDER_NOT_FOUND", r.text
        assert (await other.delete(f"/api/v1/providers/{mine['id']}")).status_code == 404
        # Not an instance administrator: the fake on 127.0.0.1 (or Ollama's default) is refused.
        r = await other.post(
            "/api/v1/providers", json={"name": "probe", "type": "custom", "base_url": fake_llm.openai_url}
        )
        assert r.status_code == 400 and r.json()["code"] == "PROVIDER_URL_REFUSED"
        r = await other.post("/api/v1/providers", json={"name": "local", "type": "ollama"})
        assert r.status_code == 400 and r.json()["code"] == "PROVIDER_URL_REFUSED"
        r = await other.post(
            "/api/v1/providers", json={"name": "x", "type": "custom", "base_url": "file:///etc"}
        )
        assert r.status_code == 400 and "http(s)" in r.json()["message"]
    assert (await client.get(f"/api/v1/providers/{mine['id']}")).status_code == 200

"""Helpers of the providers and completions tests."""

from __future__ import annotations

from typing import Any

import httpx

from fakes.llm_server import FakeLLM


async def make_provider(
    client: httpx.AsyncClient, fake: FakeLLM, kind: str = "custom", prefix: str = "/api/v1", **body: Any
) -> dict[str, Any]:
    url = fake.anthropic_url if kind == "anthropic" else fake.openai_url
    body = {"name": kind, "type": kind, "base_url": url, "api_key": fake.api_key, **body}
    r = await client.post(f"{prefix}/providers", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json() if prefix == "/api/v1" else r.json()["data"]
    return data

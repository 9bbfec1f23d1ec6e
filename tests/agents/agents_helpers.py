"""Helpers of the agents and swarms tests: a model provider on the fake LLM server, agents."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from fakes.llm_server import FakeLLM, Received


async def add_provider(client: httpx.AsyncClient, fake: FakeLLM, name: str = "fake") -> dict[str, Any]:
    r = await client.post(
        "/api/v1/providers",
        json={
            "name": name,
            "type": "openai",
            "base_url": fake.openai_url,
            "api_key": fake.api_key,
            "default_model": "gpt-4o-mini",
        },
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def add_agent(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "model": "fake/gpt-4o-mini", "system_prompt": f"You are {name}.", **fields}
    r = await client.post("/api/v1/agents", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def system_prompt(request: Received) -> str:
    messages = (request.body or {}).get("messages") or []
    return str(messages[0].get("content")) if messages and messages[0].get("role") == "system" else ""


def tool_results(request: Received) -> list[str]:
    messages = (request.body or {}).get("messages") or []
    return [str(m.get("content")) for m in messages if m.get("role") == "tool"]


def tool_names(request: Received) -> list[str]:
    return [t["function"]["name"] for t in (request.body or {}).get("tools") or []]


async def wait_for(check: Any, timeout: float = 30.0, every: float = 0.05) -> Any:
    """Poll `await check()` until it answers something true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting; last answer: {json.dumps(value, default=str)[:500]}")
        await asyncio.sleep(every)

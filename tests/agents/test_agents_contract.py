"""/api/v1/agents answers spec 001's Agent schema (bare, 201 on create, 204 on delete, 001's error
object), and /api/agents spec 003's envelope."""

from __future__ import annotations

from typing import Any

import httpx
from agents_helpers import add_provider
from spec001 import STR, TIME, UUID, array, errors, obj

from fakes.llm_server import FakeLLM

AGENT = obj(
    None,
    id=UUID,
    name=STR,
    description=STR,
    system_prompt=STR,
    provider_id=STR,
    model=STR,
    temperature={"type": "number"},
    created_at=TIME,
)


def conforms(body: Any, schema: dict[str, Any]) -> None:
    assert errors(body, schema) == [], errors(body, schema)
    assert not (isinstance(body, dict) and "success" in body)


async def test_v1_agents_answer_001_agent_schema(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    r = await client.post(
        "/api/v1/agents",
        json={"name": "writer", "provider_id": "fake", "model": "gpt-4o", "system_prompt": "Write."},
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    conforms(agent, AGENT)
    assert agent["provider_id"] == "fake" and agent["model"] == "gpt-4o" and agent["temperature"] == 0.7
    conforms((await client.get("/api/v1/agents")).json(), array(AGENT))
    conforms((await client.get(f"/api/v1/agents/{agent['id']}")).json(), AGENT)
    r = await client.put(f"/api/v1/agents/{agent['id']}", json={"model": "gpt-4o-mini", "name": "editor"})
    assert r.status_code == 200
    conforms(r.json(), AGENT)
    clone = await client.post(f"/api/v1/agents/{agent['id']}/clone")
    assert clone.status_code == 201
    conforms(clone.json(), AGENT)
    assert (await client.delete(f"/api/v1/agents/{agent['id']}")).content == b""

    missing = await client.get(f"/api/v1/agents/{agent['id']}")
    assert missing.status_code == 404
    conforms(missing.json(), obj(["error", "message"], error=STR, message=STR, code=STR))
    assert missing.json()["code"] == "AGENT_NOT_FOUND"
    invalid = await client.post("/api/v1/agents", json={"model": "gpt-4o"})
    assert invalid.status_code == 400 and invalid.json()["code"] == "VALIDATION_ERROR"

    enveloped = await client.get("/api/agents")
    assert enveloped.json()["success"] is True and enveloped.json()["data"][0]["name"] == "editor-copy"

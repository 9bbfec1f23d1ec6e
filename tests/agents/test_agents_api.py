"""Agents over /api/v1 and /api: CRUD, clone, validation, per-account scoping; runs to an answer
against the fake LLM server (tools from the shared tool layer), and runs that fail cleanly."""

from __future__ import annotations

import json
import uuid

import httpx
from agents_helpers import add_agent, add_provider, tool_names, tool_results
from fastapi import FastAPI

from fakes.llm_server import FakeLLM, Reply
from sessions.fixtures import other_account_client


async def test_agent_crud_and_clone(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    r = await client.post(
        "/api/v1/agents",
        json={
            "name": "code-assistant",
            "instruction": "You help with Rust.",
            "role": "coder",
            "model": "fake/gpt-4o",
            "temperature": 0.3,
            "tools": ["file_read", "file_write", "terminal"],
            "max_steps": 5,
        },
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["system_prompt"] == agent["instruction"] == "You help with Rust."
    assert agent["tools"] == ["read_file", "write_file", "terminal"]
    assert agent["role"] == "coder" and agent["max_steps"] == 5 and agent["temperature"] == 0.3
    uuid.UUID(agent["id"])

    listed = (await client.get("/api/v1/agents")).json()
    assert [a["name"] for a in listed] == ["code-assistant"]
    enveloped = (await client.get(f"/api/agents/{agent['id']}")).json()
    assert enveloped["success"] is True and enveloped["data"]["name"] == "code-assistant"

    r = await client.put(f"/api/v1/agents/{agent['id']}", json={"temperature": 1.1, "description": "d"})
    assert r.status_code == 200 and r.json()["temperature"] == 1.1 and r.json()["model"] == "fake/gpt-4o"

    r = await client.post(f"/api/v1/agents/{agent['id']}/clone")
    assert r.status_code == 201, r.text
    clone = r.json()
    assert clone["name"] == "code-assistant-copy" and clone["id"] != agent["id"]
    assert clone["system_prompt"] == "You help with Rust." and clone["tools"] == agent["tools"]
    r = await client.post(f"/api/v1/agents/{agent['id']}/clone", json={"name": "rusty"})
    assert r.status_code == 201 and r.json()["name"] == "rusty"

    r = await client.delete(f"/api/v1/agents/{clone['id']}")
    assert r.status_code == 204
    assert (await client.get(f"/api/v1/agents/{clone['id']}")).status_code == 404


async def test_bad_agent_input_is_refused_clearly(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    await add_agent(client, "alpha")
    r = await client.post("/api/v1/agents", json={"name": "ALPHA", "model": "fake/gpt-4o"})
    assert r.status_code == 409 and r.json()["code"] == "AGENT_NAME_TAKEN"
    r = await client.post("/api/agents", json={"name": "beta", "provider_id": "nowhere", "model": "gpt-4o"})
    assert r.status_code == 404 and r.json()["success"] is False
    assert r.json()["error"]["code"] == "PROVIDER_NOT_FOUND"
    r = await client.post("/api/v1/agents", json={"name": "beta", "tools": ["teleport"]})
    assert r.status_code == 400 and "teleport" in r.text
    r = await client.post("/api/v1/agents", json={"name": "bad name!"})
    assert r.status_code == 400
    assert (await client.get("/api/v1/agents/not-a-uuid")).status_code == 404
    assert (await client.get(f"/api/v1/agents/{uuid.uuid4()}")).json()["code"] == "AGENT_NOT_FOUND"


async def test_agents_are_per_account(app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(admin, fake_llm)
    agent = await add_agent(admin, "mine")
    async with await other_account_client(app, admin) as other:
        assert (await other.get(f"/api/v1/agents/{agent['id']}")).status_code == 404
        assert (await other.get("/api/v1/agents")).json() == []
        r = await other.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "hi"})
        assert r.status_code == 404


async def test_run_calls_a_library_tool_and_answers(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    agent = await add_agent(client, "librarian", tools=["search_chats", "read_chat"])
    fake_llm.script(
        [
            Reply(tool_calls=[("search_chats", {"query": "nothing-like-this"})]),
            Reply(tool_calls=[("search_chats", "{not json")]),
            Reply(tool_calls=[("search_chats", {"bogus": 1})]),
            Reply(text="Nothing was found in your chats."),
        ]
    )
    r = await client.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "find the auth chat"})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed" and run["answer"] == "Nothing was found in your chats."
    assert [s["kind"] for s in run["steps"]] == ["model", "tool", "model", "tool", "model", "tool", "model"]
    assert [s["is_error"] for s in run["steps"] if s["kind"] == "tool"] == [False, True, True]

    requests = fake_llm.completions
    assert len(requests) == 4
    assert tool_names(requests[0]) == ["search_chats", "read_chat"]
    assert requests[0].body is not None and requests[0].body["model"] == "gpt-4o-mini"
    results = tool_results(requests[3])
    assert "invalid_arguments" in results[1] and "not JSON" in results[1]
    assert "invalid_arguments" in results[2]

    chat = (await client.get(f"/api/v1/sessions/{run['chat_id']}")).json()
    roles = [m["role"] for m in chat["messages"]]
    assert len(roles) == 9  # system, user, then 3 x (assistant call, tool result), the answer
    found = (await client.get("/api/v1/search", params={"q": "auth"})).json()
    assert any(run["chat_id"] in json.dumps(hit) for hit in (found if isinstance(found, list) else [found]))


async def test_step_limit_fails_the_run(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    agent = await add_agent(client, "looper", tools=["search_chats"], max_steps=2)
    fake_llm.script([Reply(tool_calls=[("search_chats", {"query": "x"})])] * 3)
    r = await client.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "loop"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "STEP_LIMIT_EXCEEDED" and "2 steps" in body["message"]
    assert len(fake_llm.completions) == 2
    run = (await client.get(f"/api/v1/agents/runs/{body['details']['run_id']}")).json()
    assert run["status"] == "failed" and run["error"]["code"] == "step_limit_exceeded"


async def test_provider_errors_fail_the_run_in_the_surface_shape(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(client, fake_llm)
    agent = await add_agent(client, "fragile", tools=[])
    fake_llm.script([Reply(status=500, message="boom")] * 5)
    r = await client.post(f"/api/agents/{agent['id']}/run", json={"prompt": "hi"})
    assert r.status_code in (502, 503), r.text
    error = r.json()
    assert error["success"] is False and error["error"]["code"].startswith("PROVIDER")
    run_id = error["error"]["details"]["run_id"]
    run = (await client.get(f"/api/agents/runs/{run_id}")).json()["data"]
    assert run["status"] == "failed" and run["error"]["message"]

    fake_llm.script([Reply(status=200, raw=b"this is not json")] * 5)
    r = await client.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "hi"})
    assert r.status_code == 502 and r.json()["code"].startswith("PROVIDER"), r.text
    assert r.json()["details"]["run_id"]


async def test_time_limit_fails_the_run(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    agent = await add_agent(client, "slow", tools=[], timeout_s=1)
    fake_llm.script([Reply(text="too late", delay=3)])
    r = await client.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "hurry"})
    assert r.status_code == 504, r.text
    assert r.json()["code"] == "TIME_LIMIT_EXCEEDED" and "1 s" in r.json()["message"]
    run = (await client.get(f"/api/v1/agents/runs/{r.json()['details']['run_id']}")).json()
    assert run["status"] == "failed" and run["finished_at"]


async def test_chat_completions_address_an_agent_by_name(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(client, fake_llm)
    await add_agent(client, "poet", model="fake/gpt-4o", system_prompt="Answer in verse.", tools=[])
    fake_llm.script([Reply(text="Roses are red.")])
    r = await client.post(
        "/api/v1/chat/completions", json={"model": "poet", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Roses are red."
    sent = fake_llm.completions[0].body or {}
    assert sent["model"] == "gpt-4o" and sent["messages"][0] == {
        "role": "system",
        "content": "Answer in verse.",
    }

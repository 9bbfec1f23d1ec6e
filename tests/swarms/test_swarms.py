"""Swarms: a coordinator delegating to two workers completes; a run paused, its server restarted
(a new app on the same database) and resumed completes without asking the model anything twice;
stop cancels; bad members are refused."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from agents_helpers import add_agent, add_provider, system_prompt, tool_results, wait_for
from fastapi import FastAPI

from chasm.app import create_app
from chasm.config import Settings
from fakes.llm_server import FakeLLM, Received, Reply


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app on `settings` (its lifespan run) and a loopback client of it."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            yield client


async def make_team(client: httpx.AsyncClient, fake: FakeLLM) -> dict[str, Any]:
    await add_provider(client, fake)
    await add_agent(client, "lead", role="tech lead", tools=[])
    await add_agent(client, "front", role="frontend", tools=["search_chats"])
    await add_agent(client, "back", role="backend", tools=["search_chats"])
    r = await client.post(
        "/api/v1/swarms",
        json={"name": "dev-team", "coordinator": "lead", "workers": ["front", "back"], "description": "d"},
    )
    assert r.status_code == 201, r.text
    swarm: dict[str, Any] = r.json()
    assert swarm["workers"] == ["front", "back"] and "status" not in swarm  # never started
    return swarm


async def settled(client: httpx.AsyncClient, swarm_id: str, *states: str) -> dict[str, Any]:
    async def check() -> Any:
        swarm = (await client.get(f"/api/v1/swarms/{swarm_id}")).json()
        return swarm if swarm["status"] in states else None

    result: dict[str, Any] = await wait_for(check)
    return result


def team_script(pause_point: threading.Event | None = None) -> list[Any]:
    def second_worker(request: Received) -> Reply:
        if pause_point is not None:
            pause_point.set()
            return Reply(text="API done", delay=0.5)
        return Reply(text="API done")

    return [
        Reply(tool_calls=[("delegate", {"worker": "ghost", "task": "haunt"})]),
        Reply(tool_calls=[("delegate", {"worker": "front", "task": "build the page"})]),
        Reply(text="page done"),
        Reply(tool_calls=[("delegate", {"worker": "back", "task": "build the API"})]),
        second_worker,
        Reply(text="All done: page and API."),
    ]


async def test_swarm_coordinator_delegates_to_two_workers(
    client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    swarm = await make_team(client, fake_llm)
    fake_llm.script(team_script())
    r = await client.post(f"/api/v1/swarms/{swarm['id']}/start", json={"prompt": "Build a todo app"})
    assert r.status_code == 202, r.text
    done = await settled(client, swarm["id"], "completed", "failed")
    run = done["run"]
    assert done["status"] == "completed" and run["answer"] == "All done: page and API.", run
    assert [a["agent"] for a in run["agents"]] == ["lead", "front", "back"]
    assert all(a["status"] == "completed" for a in run["agents"])
    delegations = [s for s in run["steps"] if s["kind"] == "delegate"]
    assert [s["summary"] for s in delegations][1:] == ["page done", "API done"]
    assert delegations[0]["is_error"] and "unknown_worker" in delegations[0]["summary"]

    requests = fake_llm.completions
    assert [system_prompt(r) for r in requests] == [
        "You are lead.",
        "You are lead.",
        "You are front.",
        "You are lead.",
        "You are back.",
        "You are lead.",
    ]
    assert "unknown_worker" in tool_results(requests[5])[0]
    assert tool_results(requests[5])[1:] == ["page done", "API done"]

    # The run reads as one tree: the workers' chats are children of the coordinator's.
    root = run["chat_id"]
    for agent_run in run["agents"][1:]:
        chat = (await client.get(f"/api/v1/sessions/{agent_run['chat_id']}")).json()
        assert chat["parent_id"] == root
    r = await client.post(f"/api/swarms/{swarm['id']}/resume")
    assert r.status_code == 409 and r.json()["error"]["code"] == "INVALID_SWARM_STATE"


async def test_paused_swarm_resumes_after_restart_without_repeating_steps(
    settings: Settings, fake_llm: FakeLLM
) -> None:
    pause_point = threading.Event()
    fake_llm.script(team_script(pause_point))
    async with serving(settings) as client:
        swarm = await make_team(client, fake_llm)
        r = await client.post(f"/api/v1/swarms/{swarm['id']}/start", json={"prompt": "Build a todo app"})
        assert r.status_code == 202, r.text
        await asyncio.to_thread(pause_point.wait, 30)
        r = await client.post(f"/api/v1/swarms/{swarm['id']}/pause")
        assert r.status_code == 200 and r.json()["status"] == "paused", r.text
        paused = await settled(client, swarm["id"], "paused")

        async def drive_ended() -> Any:  # each run stops after its step under way
            swarm_now = (await client.get(f"/api/v1/swarms/{swarm['id']}")).json()
            agents = swarm_now["run"]["agents"]
            return all(a["status"] in ("paused", "completed") for a in agents) and len(agents) == 3

        await wait_for(drive_ended)
        assert paused["run"]["status"] == "paused"
        assert len(fake_llm.completions) == 5  # the worker's reply under way was kept, nothing more asked

    async with serving(settings) as client:
        r = await client.post(f"/api/v1/swarms/{swarm['id']}/resume")
        assert r.status_code == 200, r.text
        done = await settled(client, swarm["id"], "completed", "failed")
        assert done["status"] == "completed", done
        assert done["run"]["answer"] == "All done: page and API."

    requests = fake_llm.completions
    assert len(requests) == 6  # every step once: none of the five before the pause was asked again
    assert [system_prompt(r) for r in requests].count("You are back.") == 1
    assert tool_results(requests[5])[1:] == ["page done", "API done"]


async def test_stop_cancels_a_running_swarm(admin: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    client = admin
    swarm = await make_team(client, fake_llm)
    fake_llm.script([Reply(text="never seen", delay=5)])
    r = await client.post(f"/api/v1/swarms/{swarm['id']}/start", json={"prompt": "slow"})
    assert r.status_code == 202
    await wait_for(lambda: asyncio.sleep(0, len(fake_llm.completions) == 1))
    r = await client.post(f"/api/v1/swarms/{swarm['id']}/stop")
    assert r.status_code == 200 and r.json()["status"] == "stopped", r.text
    stopped = await settled(client, swarm["id"], "stopped")
    assert stopped["run"]["agents"][0]["status"] == "stopped"

    async def job_canceled() -> bool:
        job = (await client.get(f"/v1/jobs/{stopped['run']['job_id']}")).json()
        return job.get("status") == "canceled"

    await wait_for(job_canceled)
    r = await client.delete(f"/api/v1/swarms/{swarm['id']}")
    assert r.status_code == 204


async def test_swarm_members_must_be_agents(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    await add_agent(client, "lead", tools=[])
    r = await client.post("/api/v1/swarms", json={"name": "t", "coordinator": "lead", "workers": ["ghost"]})
    assert r.status_code == 400 and r.json()["code"] == "UNKNOWN_AGENT" and "ghost" in r.json()["message"]
    r = await client.post("/api/swarms", json={"name": "t", "coordinator": "nobody", "workers": ["lead"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "UNKNOWN_AGENT"
    r = await client.post("/api/v1/swarms", json={"name": "t", "coordinator": "lead", "workers": []})
    assert r.status_code == 400

"""A swarm started with a limited API key acts as that key: its workers' tool calls are held to the
key's scopes (no sandbox, no workspace for a key without exec/files scopes), not to the job's
full identity."""

from __future__ import annotations

import httpx
from agents_helpers import add_agent, add_provider, tool_results, wait_for
from fastapi import FastAPI

from fakes.llm_server import FakeLLM, Reply
from sessions.fixtures import scoped_client


async def test_a_swarm_started_with_a_limited_key_acts_within_its_scopes(
    app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(admin, fake_llm)
    await add_agent(admin, "lead", tools=[])
    await add_agent(admin, "digger", tools=["terminal", "search_chats"])
    r = await admin.post(
        "/api/v1/swarms", json={"name": "limited", "coordinator": "lead", "workers": ["digger"]}
    )
    assert r.status_code == 201, r.text
    swarm = r.json()
    fake_llm.script(
        [
            Reply(tool_calls=[("delegate", {"worker": "digger", "task": "look around"})]),
            Reply(
                tool_calls=[
                    ("terminal", {"command": "id"}),
                    ("search_chats", {"query": "anything"}),
                ]
            ),
            Reply(text="I may not use the shell."),
            Reply(text="The digger could not use the shell."),
        ]
    )
    reader = await scoped_client(app, admin, ["chats.read", "chats.write"])
    r = await reader.post(f"/api/v1/swarms/{swarm['id']}/start", json={"prompt": "Dig"})
    assert r.status_code == 202, r.text

    async def finished() -> dict[str, object] | None:
        now = (await reader.get(f"/api/v1/swarms/{swarm['id']}")).json()
        return now if now["status"] in ("completed", "failed") else None

    done = await wait_for(finished)
    assert done["status"] == "completed", done
    terminal, search = tool_results(fake_llm.completions[2])
    assert terminal.startswith("insufficient_scope:") and "exec.write" in terminal
    assert not search.startswith("insufficient_scope")  # chats.read: the key has it
    steps = done["run"]["steps"]  # type: ignore[index]
    refused = [s for s in steps if s["kind"] == "tool" and s["name"] == "terminal"]
    assert refused and refused[0]["is_error"]
    # Nothing was made in the sandbox layer on the key's behalf.
    workspaces = (await admin.get("/v1/workspaces")).json()
    assert workspaces["total"] == 0
    sessions = (await admin.get("/v1/sessions")).json()
    assert sessions["total"] == 0
    # The job records who started it.
    job = (await admin.get(f"/v1/jobs/{done['run']['job_id']}")).json()  # type: ignore[index]
    assert job["input"]["principal"]["scopes"] == ["chats.read", "chats.write"]
    await reader.aclose()

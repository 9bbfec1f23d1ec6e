"""Agents with sandbox tools, on the real bubblewrap driver: a run that uses `terminal` and
answers; a harvested chat continued in a sandbox holding its repository, recorded as a fork."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from agents_helpers import add_agent, add_provider, system_prompt, tool_results
from fastapi import FastAPI
from sqlalchemy import update

from chasm.kit.db import transaction
from chasm.models import Chat
from fakes.llm_server import FakeLLM, Received, Reply
from shared_fixtures import TRANSCRIPTS

pytestmark = pytest.mark.sandbox

CODEX = TRANSCRIPTS / "codex/agentsessions_stage0_codex_small_cli0.146.jsonl"


async def _forget_disks(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The workspaces the runs made are deleted (unmounted) with the test's app."""
    items = (await client.get("/v1/workspaces", params={"limit": 500})).json()["items"]
    app.state.test_disks = [*getattr(app.state, "test_disks", []), *(w["id"] for w in items)]


async def _running_sessions(admin: httpx.AsyncClient) -> int:
    listed = (await admin.get("/v1/sessions", params={"status": "running"})).json()
    return int(listed["total"])


async def test_agent_runs_terminal_in_a_sandbox_and_answers(
    app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await add_provider(admin, fake_llm)
    agent = await add_agent(admin, "shell", tools=["terminal", "write_file", "read_file"])
    fake_llm.script(
        [
            Reply(tool_calls=[("terminal", {"command": "echo hi"})]),
            Reply(tool_calls=[("write_file", {"path": "note.txt", "content": "kept"})]),
            Reply(tool_calls=[("terminal", {"command": "cat note.txt; pwd"})]),
            Reply(text="The command printed hi."),
        ]
    )
    r = await admin.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "say hi in the shell"})
    await _forget_disks(app, admin)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed" and run["answer"] == "The command printed hi."
    assert run["workspace"] == "agent-shell"
    results = tool_results(fake_llm.completions[3])
    assert '"exit_code": 0' in results[0] and '"output": "hi\\n"' in results[0]
    assert "kept" in results[2] and "/workspace" in results[2]
    chat = (await admin.get(f"/api/v1/sessions/{run['chat_id']}")).json()
    assert any(m["content"].startswith("{") and "hi" in m["content"] for m in chat["messages"])
    assert await _running_sessions(admin) == 0  # the run's sandbox ended with it


def _bare_repo(root: Path) -> None:
    origin = root / "work"
    origin.mkdir(parents=True)
    git = lambda *a: subprocess.run(a, cwd=origin, check=True, capture_output=True)  # noqa: E731
    git("git", "init", "-q", "-b", "main")
    (origin / "README.md").write_text("hello from demo\n")
    git("git", "add", ".")
    git("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    (root / "git" / "octo").mkdir(parents=True)
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(origin), str(root / "git" / "octo" / "demo.git")], check=True
    )


async def test_harvested_chat_continues_in_its_repository(
    app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    _bare_repo(tmp_path)
    app.state.settings.github_base_url = f"file://{tmp_path / 'git'}"
    r = await admin.post(
        "/api/harvest/upload", files={"files": (CODEX.name, CODEX.read_bytes())}, data={"source": "codex"}
    )
    assert r.status_code == 200, r.text
    chats = (await admin.get("/api/v1/sessions")).json()["sessions"]
    original = chats[0]
    async with transaction(app.state.sessionmaker) as db:  # the chat names its repository
        await db.execute(
            update(Chat)
            .where(Chat.id == uuid.UUID(original["id"]))
            .values(meta={"git_repository": "octo/demo"})
        )
    await add_provider(admin, fake_llm)
    fake_llm.script(
        [
            Reply(tool_calls=[("terminal", {"command": "cat README.md"})]),
            Reply(text="The README says hello from demo."),
        ]
    )
    r = await admin.post(
        f"/api/v1/sessions/{original['id']}/continue", json={"prompt": "What does the README say?"}
    )
    await _forget_disks(app, admin)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "completed" and run["answer"] == "The README says hello from demo."
    assert run["agent"] == "continue" and run["workspace"] == f"chat-{original['id'][:8]}"
    first = fake_llm.completions[0]
    assert "octo/demo" in system_prompt(first) and "conversation so far" in system_prompt(first)
    assert "hello from demo" in tool_results(fake_llm.completions[1])[0]

    fork = (await admin.get(f"/api/v1/sessions/{run['chat_id']}")).json()
    assert fork["parent_id"] == original["id"] and fork["title"].endswith("(continued)")
    assert fork["messages"][-1]["content"] == "The README says hello from demo."
    assert len(fork["messages"]) > original["message_count"]
    listed = (await admin.get("/api/v1/sessions")).json()["sessions"]
    assert run["chat_id"] in [c["id"] for c in listed]
    assert await _running_sessions(admin) == 0


async def test_two_runs_of_one_agent_take_turns_in_its_sandbox(
    app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    """Both runs write, wait and read back one file of the agent's workspace: at once in one
    machine the second would read the first's word (or lose its session when the first ends).
    They take turns, and the one that waited is told so."""
    await add_provider(admin, fake_llm)
    agent = await add_agent(admin, "turns", tools=["terminal"])

    def reply(request: Received) -> Reply:
        messages = (request.body or {}).get("messages") or []
        word = next(m["content"] for m in messages if m["role"] == "user")
        results = [str(m["content"]) for m in messages if m["role"] == "tool"]
        if not results:
            command = f"echo {word} > who.txt && sleep 1 && cat who.txt"
            return Reply(tool_calls=[("terminal", {"command": command})])
        return Reply(text=results[0])

    fake_llm.script([reply] * 4)
    runs = await asyncio.gather(
        *(admin.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": w}) for w in ("apple", "pear"))
    )
    await _forget_disks(app, admin)
    answers = []
    for r, word in zip(runs, ("apple", "pear"), strict=True):
        assert r.status_code == 200, r.text
        run = r.json()
        assert run["status"] == "completed" and run["workspace"] == "agent-turns"
        assert f'"output": "{word}\\n"' in run["answer"], run["answer"]
        answers.append(run["answer"])
    assert sum("waited" in a and "another run" in a for a in answers) == 1
    assert await _running_sessions(admin) == 0

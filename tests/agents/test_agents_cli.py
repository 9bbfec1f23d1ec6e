"""`chasm agents create|list|run` against a live server: `run` prints each step as it happens
(the run's SSE stream), one line of at most 80 columns, then the answer; a failure is one line."""

from __future__ import annotations

import asyncio

import httpx
from agents_helpers import add_provider
from typer.testing import CliRunner

from chasm.cli.agents import step_line
from chasm.cli.main import app as cli
from fakes.llm_server import FakeLLM, Reply
from sessions.fixtures import LiveServer


async def invoke(*args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, list(args), env={"COLUMNS": "80", "CHASM_URL": "", "CHASM_API_KEY": ""}
    )
    return result.exit_code, result.stdout, result.stderr


async def test_agents_cli_runs_with_live_steps(live: LiveServer, fake_llm: FakeLLM) -> None:
    async with httpx.AsyncClient(base_url=live.url) as client:
        await add_provider(client, fake_llm)
    code, out, err = await invoke(
        "agents", "create", "finder", "--model", "fake/gpt-4o-mini", "--tools", "search_chats",
        "--instruction", "Find things.", "--network", "direct", "--url", live.url,
    )  # fmt: skip
    assert code == 0, out + err
    assert "Created agent finder" in out and "search_chats" in out
    code, out, err = await invoke("agents", "create", "lost", "--network", "moon", "--url", live.url)
    assert code != 0 and "network" in out + err
    code, out, _ = await invoke("agents", "list", "--url", live.url)
    assert code == 0 and "finder" in out and "fake/gpt-4o-mini" in out

    fake_llm.script(
        [
            Reply(tool_calls=[("search_chats", {"query": "deploy " * 20 + "x" * 60})]),
            Reply(text="None found."),
        ]
    )
    code, out, err = await invoke("agents", "run", "finder", "find the deploy chat", "--url", live.url)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith("finder → search_chats") and lines[1].startswith("finder ✓ search_chats")
    assert all(len(line) <= 80 for line in lines)
    assert "None found." in out and "1 model steps" not in out  # the summary line goes to stderr
    assert "2 model steps" in err

    fake_llm.script([Reply(status=401, message="bad key")] * 3)
    code, out, err = await invoke("agents", "run", "finder", "again", "--url", live.url)
    # (err also holds what the fake server's threads print about connections the client dropped)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and errors and "PROVIDER" in errors[0], err
    code, _, err = await invoke("agents", "run", "nobody", "x", "--url", live.url)
    assert code == 1 and "no agent named 'nobody'" in err


def test_step_lines_fit_the_width() -> None:
    step = {"agent": "a", "kind": "tool", "name": "terminal", "is_error": True, "summary": "x" * 300}
    assert len(step_line(step, 80)) == 80 and step_line(step, 80).startswith("a ✗ terminal: x")

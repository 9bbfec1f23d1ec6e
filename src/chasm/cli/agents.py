"""`chasm agents list|create|run` and `chasm chats continue`: agents through the server's HTTP API
(their tools run in the server's sandboxes). A run's steps print as they happen, one line each,
fitted to the terminal (80 columns too)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from chasm.cli.chats import fitted_table, fixed_column, text_column

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY = typer.Option(
    None, "--key", envvar="CHASM_API_KEY", help="An API key (sk_...); loopback callers may omit it."
)
AS_JSON = typer.Option(False, "--json", help="Print the server's JSON answer.")

agents_app = typer.Typer(
    help="Agents: a model, an instruction and tools, run on tasks.", no_args_is_help=True
)


def _client(url: str, key: str | None) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(30, read=None))


def _refused(response: Any) -> None:
    """A refusal of the server as one line (its 001 error object), and exit 1."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        message, code = body.get("message") or response.text, body.get("code") or ""
    except ValueError:
        message, code = response.text, ""
    typer.echo(f"error: {message} ({response.status_code} {code})".rstrip(), err=True)
    raise typer.Exit(1)


def _width() -> int:
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _fit(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def step_line(step: dict[str, Any], width: int = 80) -> str:
    """One step as one line: who, what, and a summary cut to the width."""
    who = step.get("agent") or ""
    if step["kind"] == "model":
        calls = step.get("tool_calls") or []
        what = ", ".join(f"{c['name']} {c['arguments']}" for c in calls) if calls else step["summary"]
        head = f"{who} → " if calls else f"{who}: "
    else:
        mark = "✗" if step.get("is_error") else "✓"
        head, what = f"{who} {mark} {step.get('name')}: ", step["summary"]
    return _fit(head + what, width)


def _events(response: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    name = "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.partition(":")[2])


def _agent_id(client: Any, name: str) -> str:
    response = client.get("/api/v1/agents")
    _refused(response)
    for agent in response.json():
        if name in (agent["id"], agent["name"]) or agent["name"].lower() == name.lower():
            return str(agent["id"])
    typer.echo(f"error: no agent named '{name}' (chasm agents list shows them)", err=True)
    raise typer.Exit(1)


@agents_app.command("list")
def list_agents(url: str = URL, key: str = KEY, as_json: bool = AS_JSON) -> None:
    """List your agents."""
    with _client(url, key) as client:
        response = client.get("/api/v1/agents")
        _refused(response)
    agents = response.json()
    if as_json:
        typer.echo(json.dumps(agents, indent=2))
        return
    table = fitted_table()
    text_column(table, "Name")
    fixed_column(table, "Role", 12)
    text_column(table, "Model")
    fixed_column(table, "Tools", 6, right=True)
    fixed_column(table, "Steps", 5, right=True)
    for a in agents:
        model = a.get("model") or "(default)"
        table.add_row(
            escape(a["name"]),
            escape(a.get("role") or ""),
            escape(model),
            str(len(a["tools"])),
            str(a["max_steps"]),
        )
    Console().print(table)


@agents_app.command("create")
def create(
    name: str = typer.Argument(..., help="Unique name (letters, digits, . _ -)."),
    model: str = typer.Option(
        None, "--model", "-m", help="provider/model (default: the default provider's)."
    ),
    instruction: str = typer.Option("", "--instruction", "-i", help="The agent's system prompt."),
    role: str = typer.Option(None, "--role"),
    description: str = typer.Option("", "--description"),
    tools: str = typer.Option(None, "--tools", help="Comma-separated (default: sandbox and chat tools)."),
    temperature: float = typer.Option(None, "--temperature"),
    max_steps: int = typer.Option(None, "--max-steps"),
    network: str = typer.Option(
        None, "--network", help="The sandbox's network: none (default) or direct (offers web_fetch)."
    ),
    url: str = URL,
    key: str = KEY,
    as_json: bool = AS_JSON,
) -> None:
    """Create an agent."""
    body: dict[str, Any] = {"name": name, "system_prompt": instruction, "description": description}
    extra = {
        "model": model,
        "role": role,
        "temperature": temperature,
        "max_steps": max_steps,
        "network": network,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    if tools is not None:
        body["tools"] = [t.strip() for t in tools.split(",") if t.strip()]
    with _client(url, key) as client:
        response = client.post("/api/v1/agents", json=body)
        _refused(response)
    agent = response.json()
    if as_json:
        typer.echo(json.dumps(agent, indent=2))
    else:
        typer.echo(
            f"Created agent {agent['name']} ({agent['id']}), tools: {', '.join(agent['tools']) or 'none'}"
        )


@agents_app.command("run")
def run(
    name: str = typer.Argument(..., help="The agent's name or id."),
    prompt: str = typer.Argument(..., help="The task."),
    url: str = URL,
    key: str = KEY,
    as_json: bool = AS_JSON,
) -> None:
    """Run an agent on a task, printing its steps as they happen, then its answer."""
    width = _width()
    with _client(url, key) as client:
        agent_id = _agent_id(client, name)
        with client.stream(
            "POST", f"/api/v1/agents/{agent_id}/run/stream", json={"prompt": prompt}
        ) as response:
            if response.status_code >= 400:
                response.read()
                _refused(response)
            for event, data in _events(response):
                if event == "step" and not as_json:
                    typer.echo(step_line(data, width))
                elif event == "run":
                    _report(data, as_json)
                elif event == "error":
                    typer.echo(
                        f"error: {data.get('message')} ({data.get('status')} {data.get('code')})", err=True
                    )
                    raise typer.Exit(1)


def _report(run: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(run, indent=2))
        return
    typer.echo(f"\n{run.get('answer') or ''}")
    typer.echo(f"\n({run['step_count']} model steps; chat {run['chat_id']})", err=True)


def continue_chat(
    chat_id: str = typer.Argument(..., help="The chat's full id."),
    prompt: str = typer.Argument(..., help="What to do next."),
    agent: str = typer.Option(None, "--agent", "-a", help="An agent's name or id (default: 'continue')."),
    model: str = typer.Option(None, "--model", "-m", help="provider/model instead of the agent's."),
    url: str = URL,
    key: str = KEY,
    as_json: bool = AS_JSON,
) -> None:
    """Continue any chat (harvested from Claude Code, Codex, ...) with an agent, in a fork of it."""
    body = {"prompt": prompt, "agent": agent, "model": model}
    with _client(url, key) as client:
        response = client.post(
            f"/api/v1/sessions/{chat_id}/continue", json={k: v for k, v in body.items() if v is not None}
        )
        _refused(response)
    result = response.json()
    if not as_json:
        width = _width()
        for step in result.get("steps") or []:
            typer.echo(step_line({**step, "agent": result["agent"]}, width))
    _report(result, as_json)

"""`chasm mcp`: the MCP tools of a Chasm server for desktop and CLI agents.

`serve` is a stdio MCP server relaying to the server's /v1/mcp; `config` prints the configuration
each client expects (Claude Code, Codex, Cursor)."""

from __future__ import annotations

import json
import shlex
from enum import StrEnum

import typer

mcp_app = typer.Typer(
    help="MCP: Chasm's tools for AI agents (stdio server, client configuration).", no_args_is_help=True
)

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY_ENV = "CHASM_API_KEY"


class Client(StrEnum):
    claude_code = "claude-code"
    codex = "codex"
    cursor = "cursor"


class Transport(StrEnum):
    http = "http"
    stdio = "stdio"


@mcp_app.command("serve")
def serve(
    url: str = URL,
    key: str = typer.Option(..., "--key", envvar=KEY_ENV, help="An API key (sk_...)."),
) -> None:
    """Serve Chasm's MCP tools on stdin/stdout, relayed to the server's /v1/mcp."""
    import anyio

    from chasm.mcp.stdio import explain
    from chasm.mcp.stdio import serve as serve_stdio

    try:
        anyio.run(serve_stdio, url, key)
    except Exception as exc:
        reason = explain(exc, url)
        if reason is None:
            raise
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(1) from None


def claude_code(url: str, key: str | None, transport: Transport) -> str:
    endpoint = f"{url}/v1/mcp"
    secret = key or f"${{{KEY_ENV}}}"
    if transport is Transport.stdio:
        command = ["claude", "mcp", "add", "--transport", "stdio", "chasm", "--env", f"CHASM_URL={url}"]
        command += ["--env", f"{KEY_ENV}={secret}", "--", "chasm", "mcp", "serve"]
        server: dict[str, object] = {
            "type": "stdio",
            "command": "chasm",
            "args": ["mcp", "serve"],
            "env": {"CHASM_URL": url, KEY_ENV: secret},
        }
    else:
        command = ["claude", "mcp", "add", "--transport", "http", "chasm", endpoint]
        command += ["--header", f"Authorization: Bearer {secret}"]
        server = {"type": "http", "url": endpoint, "headers": {"Authorization": f"Bearer {secret}"}}
    shell = " ".join(shlex.quote(c) if "$" not in c else f'"{c}"' for c in command)
    snippet = json.dumps({"mcpServers": {"chasm": server}}, indent=2)
    return f"# Claude Code: run\n{shell}\n\n# or put this in .mcp.json at the root of a project:\n{snippet}\n"


def codex(url: str, key: str | None, transport: Transport) -> str:
    if transport is Transport.stdio:
        env = f'{{ CHASM_URL = "{url}", {KEY_ENV} = "{key}" }}' if key else f'{{ CHASM_URL = "{url}" }}'
        lines = [
            "[mcp_servers.chasm]",
            'command = "chasm"',
            'args = ["mcp", "serve"]',
            f"env = {env}",
        ]
        if not key:
            lines.append(f'env_vars = ["{KEY_ENV}"]')
    else:
        lines = ["[mcp_servers.chasm]", f'url = "{url}/v1/mcp"', f'bearer_token_env_var = "{KEY_ENV}"']
    note = (
        "" if key or transport is Transport.stdio else f"# with {KEY_ENV} exported in Codex's environment\n"
    )
    if transport is Transport.http and key:
        note = f"# Codex reads the key from the environment: export {KEY_ENV}={key}\n"
    command = ""
    if transport is Transport.http:
        command = f"# or run: codex mcp add chasm --url {url}/v1/mcp --bearer-token-env-var {KEY_ENV}\n"
    return "# Codex: add to ~/.codex/config.toml\n" + note + "\n".join(lines) + "\n" + command


def cursor(url: str, key: str | None, transport: Transport) -> str:
    secret = key or f"${{env:{KEY_ENV}}}"
    server: dict[str, object]
    if transport is Transport.stdio:
        server = {"command": "chasm", "args": ["mcp", "serve"], "env": {"CHASM_URL": url, KEY_ENV: secret}}
    else:
        server = {"url": f"{url}/v1/mcp", "headers": {"Authorization": f"Bearer {secret}"}}
    snippet = json.dumps({"mcpServers": {"chasm": server}}, indent=2)
    return f"# Cursor: add to ~/.cursor/mcp.json (or .cursor/mcp.json in a project)\n{snippet}\n"


RENDER = {Client.claude_code: claude_code, Client.codex: codex, Client.cursor: cursor}


@mcp_app.command("config")
def config(
    client: Client | None = typer.Option(None, "--client", help="Print only this client's configuration."),
    transport: Transport = typer.Option(
        Transport.http,
        "--transport",
        help="http: the client calls /v1/mcp; stdio: it starts `chasm mcp serve`.",
    ),
    url: str = URL,
    key: str | None = typer.Option(
        None, "--key", help=f"Write this key into the snippet (default: a reference to ${KEY_ENV})."
    ),
) -> None:
    """Print the MCP configuration snippet of Claude Code, Codex or Cursor for this server."""
    url = url.rstrip("/")
    clients = [client] if client else list(Client)
    typer.echo("\n".join(RENDER[c](url, key, transport) for c in clients), nl=False)

"""`chasm browser`: browser sessions through the HTTP API (create, list, screenshot, terminate).
The server and key come from --url/--key or CHASM_URL/CHASM_API_KEY."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from chasm.cli import pages
from chasm.cli.api_errors import fail
from chasm.cli.ids import resolve_session
from chasm.client.errors import ChasmAPIError

if TYPE_CHECKING:
    from chasm.client.sync import Chasm

browser_app = typer.Typer(
    help="Browser sessions (headless Chromium), through the HTTP API.", no_args_is_help=True
)

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY = typer.Option(..., "--key", envvar="CHASM_API_KEY", help="An API key (sk_...).")
JSON_OUT = typer.Option(False, "--json", help="Print the server's JSON answer.")


def _client(url: str, key: str) -> Chasm:
    from chasm.client.sync import Chasm

    return Chasm(url, key)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@browser_app.command("create")
def create(
    workspace: str = typer.Option(
        None, "--workspace", "-w", help="Browser workspace (keeps the profile; reuses its session)."
    ),
    network: str = typer.Option("none", "--network", help="none | direct"),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Start a browser session (ephemeral unless --workspace is given); prints its id."""
    with _client(url, key) as client:
        try:
            browser = client.browsers.create(workspace, network=network)
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(browser.info.raw)
        return
    typer.echo(browser.id)
    typer.echo(f"DevTools: {browser.cdp_url}", err=True)
    if browser.info.access_token:
        typer.echo(f"access token (shown once): {browser.info.access_token}", err=True)


@browser_app.command("list")
def list_sessions(
    status: str = typer.Option(None, "--status", help="creating | running | terminated"),
    workspace: str = typer.Option(None, "--workspace", "-w"),
    limit: int = pages.LIMIT,
    offset: int = pages.OFFSET,
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """List browser sessions, newest first."""
    with _client(url, key) as client:
        try:
            page = client.sessions.list(
                status=status, workspace=workspace, session_type="browser", limit=limit, offset=offset
            )
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(page.raw)
        return
    for item in page:
        ws = item.workspace_id or "ephemeral"
        reason = f" ({item.ended_reason})" if item.ended_reason else ""
        typer.echo(f"{item.id}  {item.status}{reason}  {ws}  {item.raw['created_at']}")
    pages.note_more(page)


@browser_app.command("screenshot")
def screenshot(
    session_id: str = typer.Argument(..., help="Browser session id (or a unique prefix)."),
    out: Path = typer.Argument(..., help="Where to write the PNG."),
    full_page: bool = typer.Option(False, "--full-page", help="The whole page, not just the viewport."),
    url: str = URL,
    key: str = KEY,
) -> None:
    """Save a PNG of the session's page."""
    with _client(url, key) as client:
        try:
            sid = resolve_session(client, session_id, "browser")
            png = client.browsers.get(sid).screenshot(full_page=full_page)
        except ChasmAPIError as error:
            fail(error)
    out.write_bytes(png)
    typer.echo(f"{out} ({len(png)} bytes)", err=True)


@browser_app.command("terminate")
def terminate(
    session_id: str = typer.Argument(..., help="Browser session id (or a unique prefix)."),
    force: bool = typer.Option(False, "--force", help="Even with open DevTools connections."),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Terminate a browser session (Chromium and everything it started)."""
    with _client(url, key) as client:
        try:
            session = client.sessions.terminate(resolve_session(client, session_id, "browser"), force=force)
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(session.raw)
        return
    typer.echo(f"{session.id}  {session.status}")

"""`chasm workspace` and `chasm workspace snapshot`: persistent disks through the HTTP API."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from chasm.cli import pages
from chasm.cli.api_errors import fail
from chasm.client.errors import ChasmAPIError

workspace_app = typer.Typer(help="Workspaces (persistent disks), through the HTTP API.", no_args_is_help=True)
snapshot_app = typer.Typer(help="Workspace snapshots.", no_args_is_help=True)
workspace_app.add_typer(snapshot_app, name="snapshot")

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY = typer.Option(..., "--key", envvar="CHASM_API_KEY", help="An API key (sk_...).")
JSON_OUT = typer.Option(False, "--json", help="Print the server's JSON answer.")


def _run(url: str, key: str, call: Any) -> Any:
    from chasm.client.sync import Chasm

    with Chasm(url, key) as client:
        try:
            return call(client)
        except ChasmAPIError as error:
            fail(error)


def _show(data: Any, as_json: bool, columns: tuple[str, ...]) -> None:
    """The server's JSON answer (--json), or a table of the item or of a list's items."""
    if as_json:
        typer.echo(json.dumps(data.raw, indent=2, default=str))
        return
    table = Table(*columns)
    for row in pages.rows(data):
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)
    pages.note_more(data)


WS_COLUMNS = ("name", "id", "session_type", "template", "status", "size_bytes", "active_session_id")
SNAP_COLUMNS = ("name", "file_count", "size_bytes", "stored_bytes", "created_at")


@workspace_app.command("list")
def list_(
    template: bool = typer.Option(None, "--template/--no-template"),
    limit: int = pages.LIMIT,
    offset: int = pages.OFFSET,
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """List workspaces, newest first."""
    _show(
        _run(url, key, lambda c: c.workspaces.list(template=template, limit=limit, offset=offset)),
        as_json,
        WS_COLUMNS,
    )


@workspace_app.command("create")
def create(
    name: str = typer.Argument(None, help="Name (generated when omitted)."),
    image: str = typer.Option(None, "--image"),
    template: bool = typer.Option(False, "--template", help="Flag the new workspace as a template."),
    clone_from: str = typer.Option(None, "--from", help="A template workspace to clone."),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Create a workspace."""
    data = _run(
        url,
        key,
        lambda c: c.workspaces.create(name, image=image, template=template, clone_from=clone_from),
    )
    _show(data, as_json, WS_COLUMNS)


@workspace_app.command("show")
def show(workspace: str, url: str = URL, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Show a workspace by name or id."""
    _show(_run(url, key, lambda c: c.workspaces.get(workspace)), as_json, WS_COLUMNS)


@workspace_app.command("delete")
def delete(
    workspace: str, force: bool = typer.Option(False, "--force"), url: str = URL, key: str = KEY
) -> None:
    """Delete a workspace (--force ends its live session first)."""
    _run(url, key, lambda c: c.workspaces.delete(workspace, force=force))
    typer.echo(f"deleted {workspace}")


@workspace_app.command("rename")
def rename(workspace: str, name: str, url: str = URL, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Rename a workspace."""
    _show(_run(url, key, lambda c: c.workspaces.rename(workspace, name)), as_json, WS_COLUMNS)


@workspace_app.command("template")
def template(
    workspace: str,
    on: bool = typer.Option(True, "--on/--off"),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Flag (--on) or unflag (--off) a workspace as a template."""
    _show(_run(url, key, lambda c: c.workspaces.set_template(workspace, on)), as_json, WS_COLUMNS)


@workspace_app.command("import")
def import_(
    repo: str = typer.Argument(..., help="owner/name (GitHub) or any remote git URL."),
    name: str = typer.Option(None, "--name"),
    ref: str = typer.Option(None, "--ref", help="Branch or tag."),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Create a workspace from a git repository (the clone runs as a job)."""
    data = _run(url, key, lambda c: c.workspaces.import_git(repo, name=name, ref=ref))
    _show(data, as_json, (*WS_COLUMNS, "job_id"))


@snapshot_app.command("list")
def snapshot_list(
    workspace: str, limit: int = pages.LIMIT, offset: int = pages.OFFSET,
    url: str = URL, key: str = KEY, as_json: bool = JSON_OUT,
) -> None:  # fmt: skip
    """List a workspace's snapshots, newest first."""
    data = _run(url, key, lambda c: c.workspaces.snapshots.list(workspace, limit=limit, offset=offset))
    _show(data, as_json, SNAP_COLUMNS)


@snapshot_app.command("create")
def snapshot_create(
    workspace: str, name: str = typer.Argument(None), force: bool = typer.Option(False, "--force"),
    url: str = URL, key: str = KEY, as_json: bool = JSON_OUT,
) -> None:  # fmt: skip
    """Snapshot a workspace."""
    _show(
        _run(url, key, lambda c: c.workspaces.snapshots.create(workspace, name, force=force)),
        as_json,
        SNAP_COLUMNS,
    )


@snapshot_app.command("restore")
def snapshot_restore(
    workspace: str, name: str, force: bool = typer.Option(False, "--force"), url: str = URL, key: str = KEY
) -> None:
    """Restore a workspace to a snapshot."""
    _run(url, key, lambda c: c.workspaces.snapshots.restore(workspace, name, force=force))
    typer.echo(f"restored {workspace} to {name}")


@snapshot_app.command("delete")
def snapshot_delete(
    workspace: str, name: str, force: bool = typer.Option(False, "--force"), url: str = URL, key: str = KEY
) -> None:
    """Delete a snapshot."""
    _run(url, key, lambda c: c.workspaces.snapshots.delete(workspace, name, force=force))
    typer.echo(f"deleted snapshot {name}")

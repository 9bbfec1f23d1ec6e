"""`chasm sandbox`: sandbox sessions through the HTTP API (create, list, exec, shell, upload,
download, terminate). The server and key come from --url/--key or CHASM_URL/CHASM_API_KEY."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from chasm.cli import pages
from chasm.cli.api_errors import fail
from chasm.cli.ids import resolve_session
from chasm.client.errors import ChasmAPIError

if TYPE_CHECKING:
    from chasm.client.sync import Chasm

sandbox_app = typer.Typer(help="Sandbox sessions, through the HTTP API.", no_args_is_help=True)

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY = typer.Option(..., "--key", envvar="CHASM_API_KEY", help="An API key (sk_...).")
JSON_OUT = typer.Option(False, "--json", help="Print the server's JSON answer.")


def _client(url: str, key: str) -> Chasm:
    from chasm.client.sync import Chasm

    return Chasm(url, key)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@sandbox_app.command("create")
def create(
    workspace: str = typer.Option(
        None, "--workspace", "-w", help="Workspace name or id (reuses its session)."
    ),
    image: str = typer.Option(None, "--image", help="Root filesystem (ephemeral sandboxes only)."),
    env: list[str] = typer.Option([], "--env", "-e", help="NAME=VALUE, repeatable."),
    network: str = typer.Option("none", "--network", help="none | direct"),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Start a sandbox session (ephemeral unless --workspace is given)."""
    variables = dict(item.split("=", 1) for item in env if "=" in item)
    with _client(url, key) as client:
        try:
            session = client.sessions.create(
                "sandbox", workspace=workspace, image=image, env=variables or None, network=network
            )
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(session.raw)
        return
    typer.echo(session.id)
    if session.network_mode == "none":
        typer.echo("network: off (the sandbox reaches nothing; --network direct opens it)", err=True)
    if session.access_token:
        typer.echo(f"access token (shown once): {session.access_token}", err=True)


@sandbox_app.command("list")
def list_sessions(
    status: str = typer.Option(None, "--status", help="creating | running | terminated"),
    workspace: str = typer.Option(None, "--workspace", "-w"),
    limit: int = pages.LIMIT,
    offset: int = pages.OFFSET,
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """List sessions, newest first."""
    with _client(url, key) as client:
        try:
            page = client.sessions.list(
                status=status, workspace=workspace, session_type="sandbox", limit=limit, offset=offset
            )
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(page.raw)
        return
    for item in page:
        reason = f" ({item.ended_reason})" if item.ended_reason else ""
        typer.echo(
            f"{item.id}  {item.status}{reason}  {item.workspace_id or 'ephemeral'}  {item.raw['created_at']}"
        )
    pages.note_more(page)


@sandbox_app.command("exec")
def exec_command(
    target: str = typer.Argument(
        ..., help="Session id (or a unique prefix); with --workspace/--new, the command instead."
    ),
    command: list[str] = typer.Argument(
        None, help="The program and its arguments, passed as argv (put -- before options of the command)."
    ),
    shell: bool = typer.Option(
        False, "--shell", help="Join the words into one shell string (pipes, $VARS, globs) run by sh -c."
    ),
    workspace: str = typer.Option(None, "--workspace", "-w", help="Run in this workspace's session."),
    new: bool = typer.Option(False, "--new", help="Run in a new ephemeral sandbox."),
    timeout_ms: int = typer.Option(None, "--timeout-ms"),
    cwd: str = typer.Option(None, "--cwd"),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Run a command and print its output; exits with the command's exit code.

    `chasm sandbox exec ID -- ls -la "my dir"` runs ls with two arguments, as docker exec and ssh
    do; `chasm sandbox exec ID --shell 'ls | wc -l'` runs a shell string."""
    words = list(command or [])
    join = " ".join if shell else shlex.join
    timeout = timeout_ms / 1000 if timeout_ms is not None else None
    with _client(url, key) as client:
        try:
            if workspace or new:
                result = client.run(
                    join([target, *words]),
                    workspace=workspace,
                    ephemeral=True if new else None,
                    cwd=cwd,
                    timeout=timeout,
                )
            else:
                if not words:
                    raise typer.BadParameter("give a command after the session id")
                sid = resolve_session(client, target, "sandbox")
                result = client.sandboxes.get(sid).commands.run(join(words), cwd=cwd, timeout=timeout)
        except ChasmAPIError as error:
            fail(error)
    if as_json:
        _print(result.raw)
        return
    sys.stdout.write(result.output)
    sys.stdout.flush()
    if result.timed_out:
        typer.echo("error: the command timed out", err=True)
        raise typer.Exit(124)
    raise typer.Exit(result.exit_code or 0)


@sandbox_app.command("upload")
def upload(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    source: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    dest: str = typer.Argument(None, help="Path in the sandbox (default: /workspace/<name>)."),
    url: str = URL,
    key: str = KEY,
) -> None:
    """Copy a local file into the sandbox."""
    with _client(url, key) as client:
        try:
            sid = resolve_session(client, session_id, "sandbox")
            result = client.sandboxes.get(sid).files.write(dest or source.name, source)
        except ChasmAPIError as error:
            fail(error)
    typer.echo(f"{result.path} ({result.size} bytes)")


@sandbox_app.command("download")
def download(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    path: str = typer.Argument(..., help="Path in the sandbox (relative: under /workspace)."),
    dest: Path = typer.Argument(None, help="Local file (default: the file's name; '-' for stdout)."),
    url: str = URL,
    key: str = KEY,
) -> None:
    """Copy a file out of the sandbox."""
    with _client(url, key) as client:
        try:
            sid = resolve_session(client, session_id, "sandbox")
            data = client.sandboxes.get(sid).files.read_bytes(path)
        except ChasmAPIError as error:
            fail(error)
    if dest is not None and str(dest) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = dest or Path(Path(path).name)
    target.write_bytes(data)
    typer.echo(f"{target} ({len(data)} bytes)")


@sandbox_app.command("terminate")
def terminate(
    session_ids: list[str] = typer.Argument(None, help="Session ids (or unique prefixes)."),
    all_sessions: bool = typer.Option(False, "--all", help="Terminate every live session."),
    force: bool = typer.Option(False, "--force", help="Even with open connections."),
    url: str = URL,
    key: str = KEY,
) -> None:
    """Terminate sessions (ids or unique prefixes of them)."""
    with _client(url, key) as client:
        try:
            session_ids = [resolve_session(client, s, "sandbox") for s in session_ids or []]
            if all_sessions or (session_ids and len(session_ids) > 1):
                result = client.sessions.bulk_terminate(session_ids or None, all=all_sessions, force=force)
                for sid in result.terminated:
                    typer.echo(f"{sid} terminated")
                for failure in result.failed:
                    typer.echo(f"{failure['id']}: {failure['message']}", err=True)
                if result.failed:
                    raise typer.Exit(1)
                return
            if not session_ids:
                raise typer.BadParameter("give a session id or --all")
            session = client.sessions.terminate(session_ids[0], force=force)
        except ChasmAPIError as error:
            fail(error)
    typer.echo(f"{session.id} {session.status}")


@sandbox_app.command("shell")
def shell(
    session_id: str = typer.Argument(..., help="Session id (or a unique prefix)."),
    mode: str = typer.Option("human", "--mode", help="human | agent"),
    url: str = URL,
    key: str = KEY,
) -> None:
    """Attach this terminal to the session's PTY (raw mode; the shell's `exit` detaches)."""
    from websockets.exceptions import ConnectionClosed

    interactive = sys.stdin.isatty()
    cols, rows = os.get_terminal_size() if interactive else (80, 24)
    with _client(url, key) as client:
        try:
            sid = resolve_session(client, session_id, "sandbox")
            terminal = client.sandboxes.get(sid).pty.connect(cols=cols, rows=rows, mode=mode)
        except ChasmAPIError as error:
            fail(error)
    saved = _raw_mode() if interactive else None

    def keyboard() -> None:
        try:
            while data := os.read(sys.stdin.fileno(), 4096):
                terminal.send(data)
        except (OSError, ConnectionClosed):
            return

    if interactive:
        signal.signal(signal.SIGWINCH, lambda *_: terminal.resize(*os.get_terminal_size()))
    threading.Thread(target=keyboard, daemon=True).start()
    try:
        for output in terminal:
            os.write(sys.stdout.fileno(), output)
    finally:
        terminal.close()
        if saved is not None:
            _restore(saved)
    raise typer.Exit(terminal.exit_code or 0)


def _raw_mode() -> list[Any]:
    import termios
    import tty

    saved = termios.tcgetattr(sys.stdin.fileno())
    tty.setraw(sys.stdin.fileno())
    return saved


def _restore(saved: list[Any]) -> None:
    import termios

    termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)

"""`chasm chats list|show|merge|fork|archive` (plus search and export from cli/search_export.py),
run directly on the local database for the local owner's personal account or `--account`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chasm.cli import search_export
from chasm.cli.localdb import local_operator

ACCOUNT = typer.Option(
    None, "--account", help="Account id or name (default: the local owner's personal account)."
)
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")

chats_app = typer.Typer(help="The chat library: recorded and harvested chats.", no_args_is_help=True)


def run(work: Callable[[Any, Any], Awaitable[Any]], account: str | None) -> Any:
    """Run `work(session, actor)` in one transaction and answer its result as JSON values (read
    schemas become dicts); a ChasmError becomes a message and exit 1."""
    from pydantic_core import to_jsonable_python

    from chasm.kit.db import transaction
    from chasm.kit.errors import ChasmError

    async def main() -> Any:
        async with local_operator(account) as (maker, actor, _settings), transaction(maker) as db:
            return to_jsonable_python(await work(db, actor))

    try:
        return asyncio.run(main())
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _uuid(value: str, what: str = "chat id") -> uuid.UUID:
    from chasm.kit.ids import parse_uuid

    parsed = parse_uuid(value)
    if parsed is None:
        raise typer.BadParameter(f"not a {what}: {value}")
    return parsed


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def compact_number(value: int) -> str:
    """16422 -> "16.4k", 1234567 -> "1.2M": a count in at most 6 characters."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}{unit}".replace(".0" + unit, unit)
    return str(value)


def fitted_table(title: str | None = None) -> Table:
    """A table that fits the terminal (80 columns too): no vertical rules; the columns that hold
    free text are given `ratio` and cut with an ellipsis, the others keep a fixed narrow width."""
    from rich import box

    return Table(
        title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, expand=True
    )


def text_column(table: Table, name: str, ratio: int = 1) -> None:
    table.add_column(name, ratio=ratio, no_wrap=True, overflow="ellipsis", min_width=8)


def fixed_column(table: Table, name: str, width: int, right: bool = False) -> None:
    table.add_column(
        name, width=width, no_wrap=True, overflow="ellipsis", justify="right" if right else "left"
    )


def _chat_table(chats: list[dict[str, Any]], title: str) -> Table:
    table = fitted_table(title)
    fixed_column(table, "Id", 8)
    text_column(table, "Title")
    fixed_column(table, "Provider", 11)
    fixed_column(table, "Msgs", 5, right=True)
    fixed_column(table, "Tokens", 6, right=True)
    fixed_column(table, "Updated", 10)
    for chat in chats:
        flags = [f for f, on in (("archived", chat["archived"]), ("missing", chat["source_missing"])) if on]
        name = " ".join((chat["title"] or "(untitled)").split())
        table.add_row(
            chat["id"][:8],
            escape("".join(f"[{f}] " for f in flags) + name),
            chat["provider"],
            compact_number(chat["message_count"]),
            compact_number(chat["token_count"]),
            (chat["updated_at"] or "")[:10],
        )
    return table


@chats_app.command("list")
def list_chats(
    provider: str | None = typer.Option(None, "--provider", help="Only chats of this provider."),
    workspace: str | None = typer.Option(None, "--workspace", help="Only chats of this workspace id."),
    archived: bool | None = typer.Option(
        None, "--archived/--active", help="Only archived or only active chats."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Only chats with this model (the chat's, or one of its messages')."
    ),
    tag: list[str] | None = typer.Option(
        None, "--tag", help="Only chats holding this tag (repeat: every one of them)."
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=100),
    offset: int = typer.Option(0, "--offset", min=0),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Chats, most recently updated first."""
    from chasm.chats import service
    from chasm.chats.repository import MAX_TAG_FILTERS, ChatFilters
    from chasm.harvest.provider_names import chat_providers

    workspace_id = _uuid(workspace, "workspace id") if workspace else None
    tags = tuple(dict.fromkeys(t.strip() for t in tag or () if t.strip()))
    if len(tags) > MAX_TAG_FILTERS:
        raise typer.BadParameter(f"filter by at most {MAX_TAG_FILTERS} tags", param_hint="--tag")

    async def work(session: Any, actor: Any) -> Any:
        providers = chat_providers(provider) if provider else None
        filters = ChatFilters(workspace_id, providers, archived, model=model or None, tags=tags)
        return await service.list_chats(session, actor, filters, limit, offset)

    data = run(work, account)
    if as_json:
        _print_json(data)
        return
    shown = f"{offset + 1}-{offset + len(data['sessions'])}" if data["sessions"] else "0"
    Console().print(_chat_table(data["sessions"], f"Chats {shown} of {data['total']}"))


@chats_app.command("show")
def show(
    chat_id: str = typer.Argument(..., help="The chat (session) id, or a unique prefix of it."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
    resume_command: bool = typer.Option(
        False, "--resume-command", help="Print the command that reopens the chat in its own tool."
    ),
) -> None:
    """One chat with all its messages."""
    from chasm.chats import service

    if resume_command:
        _print_resume_command(chat_id, account, as_json)
        return

    async def work(session: Any, actor: Any) -> Any:
        return await service.get_chat(session, actor, await service.resolve_chat_id(session, actor, chat_id))

    data = run(work, account)
    if as_json:
        _print_json(data)
        return
    console = Console()
    console.print(f"[bold]{escape(data['title'] or '(untitled)')}[/]  {data['id']}")
    console.print(
        f"{data['provider']} · {data['model'] or 'unknown model'} · {data['message_count']} messages"
    )
    for message in data["messages"]:
        stamp = (message["created_at"] or "")[:19]
        console.rule(f"{message['role']} {stamp}", align="left")
        if message["thinking"]:
            console.print(f"[dim]{escape(message['thinking'])}[/]")
        if message["content"]:
            console.print(escape(message["content"]))
        for call in message["tool_calls"]:
            console.print(
                f"[cyan]→ {escape(str(call.get('name')))}[/] {escape(json.dumps(call.get('input'))[:300])}"
            )


def _print_resume_command(chat_id: str, account: str | None, as_json: bool) -> None:
    from dataclasses import asdict

    from chasm.chats import resume, service

    async def work(session: Any, actor: Any) -> Any:
        found = await service.resolve_chat_id(session, actor, chat_id)
        return asdict(await resume.resume_command(session, actor, found))

    data = run(work, account)
    if as_json:
        _print_json(data)
    elif data["command"] is None:
        typer.echo(f"This chat cannot be resumed from a command: {data['reason']}.", err=True)
    if data["command"] is None:
        raise typer.Exit(1)
    if not as_json:
        typer.echo(data["command"])
        if data["reason"]:
            typer.echo(f"note: {data['reason']}", err=True)


@chats_app.command("merge")
def merge(
    chat_ids: list[str] = typer.Argument(..., help="Two or more chat ids (or unique prefixes), in order."),
    strategy: str = typer.Option("interleave", "--strategy", help="interleave, concatenate or smart."),
    title: str | None = typer.Option(None, "--title"),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Merge chats into a new one."""
    from pydantic import ValidationError

    from chasm.chats import service
    from chasm.chats.schemas import MergeSessions

    async def work(session: Any, actor: Any) -> Any:
        ids = [await service.resolve_chat_id(session, actor, c) for c in chat_ids]
        try:
            body = MergeSessions(session_ids=ids, title=title, strategy=strategy)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise typer.BadParameter(str(exc.errors()[0]["msg"])) from exc
        return await service.merge_chats(session, actor, body)

    data = run(work, account)
    _report_new(data, "Merged", as_json)


@chats_app.command("fork")
def fork(
    chat_id: str = typer.Argument(..., help="The chat to fork (its id or a unique prefix)."),
    at: str | None = typer.Option(None, "--at", help="Last message id to copy (default: all)."),
    title: str | None = typer.Option(None, "--title"),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Copy a chat into a new one, up to a message."""
    from chasm.chats import service
    from chasm.chats.schemas import ForkSession

    body = ForkSession(message_id=_uuid(at, "message id") if at else None, title=title)

    async def work(session: Any, actor: Any) -> Any:
        return await service.fork_chat(
            session, actor, await service.resolve_chat_id(session, actor, chat_id), body
        )

    data = run(work, account)
    _report_new(data, "Forked", as_json)


@chats_app.command("archive")
def archive(
    chat_ids: list[str] = typer.Argument(..., help="Chats to archive (ids or unique prefixes)."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Archive chats."""
    from chasm.chats import service

    async def work(session: Any, actor: Any) -> list[Any]:
        ids = [await service.resolve_chat_id(session, actor, c) for c in chat_ids]
        return [await service.archive_chat(session, actor, i) for i in ids]

    data = run(work, account)
    if as_json:
        _print_json(data)
        return
    Console().print(_chat_table(data, f"Archived {len(data)} chat(s)"))


def _report_new(data: dict[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        _print_json(data)
        return
    typer.echo(f"{verb} into {data['id']}: {data['title']} ({data['message_count']} messages)")


search_export.register(chats_app)

"""`chasm chats search`, `chasm chats export` and `chasm stats`, run directly on the local database.

They act for the local owner's personal account (the one the loopback chat API serves), or for
`--account`. `register(chats_app)` adds the two chat commands to the `chats` command group.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

T = TypeVar("T")
ACCOUNT = typer.Option(
    None, "--account", help="Account id or name (default: the local owner's personal account)."
)
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def _run(work: Callable[[Any, Any], Awaitable[T]], account: str | None) -> T:
    """Run `work(session, actor)` in one transaction on the configured database."""
    from chasm.kit.errors import ChasmError

    async def main() -> T:
        from pydantic_core import to_jsonable_python

        from chasm.cli.localdb import local_operator
        from chasm.kit.db import transaction

        async with local_operator(account) as (maker, actor, _settings), transaction(maker) as db:
            result = await work(db, actor)
            # read schemas (stats, search) print as JSON values; files stay bytes
            return result if isinstance(result, tuple) else to_jsonable_python(result)

    try:
        return asyncio.run(main())
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _snippet(html_snippet: str) -> str:
    """Rich markup from an HTML snippet: matches in bold, entities decoded, the rest escaped."""
    import html

    parts = _MARK.split(html_snippet)
    return "".join(
        f"[bold yellow]{escape(html.unescape(p))}[/]" if i % 2 else escape(html.unescape(p))
        for i, p in enumerate(parts)
    )


def search(
    query: str = typer.Argument(..., help='Words, "phrases", OR, -exclusions and prefix*.'),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=100),
    provider: str | None = typer.Option(None, "--provider", help="Only chats of this provider."),
    workspace: str | None = typer.Option(None, "--workspace", help="Only chats of this workspace id."),
    role: str | None = typer.Option(None, "--role", help="Only messages of this role."),
    sessions: bool = typer.Option(False, "--sessions", help="One row per chat instead of per message."),
    tools: str = typer.Option(
        "include",
        "--tools",
        help="Tool calls (names, arguments, result excerpts): include (ranked below prose), exclude or only.",
    ),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Full-text search over chat titles, messages and tool calls, best matches first."""
    from chasm.kit.ids import parse_uuid
    from chasm.search import service

    workspace_id = parse_uuid(workspace)
    if workspace and workspace_id is None:
        raise typer.BadParameter("not a workspace id", param_hint="--workspace")
    if tools not in ("include", "exclude", "only"):
        raise typer.BadParameter("include, exclude or only", param_hint="--tools")

    async def work(session: Any, actor: Any) -> Any:
        from pydantic_core import to_jsonable_python

        filters = service.make_filters(provider, workspace_id, role, tools=tools)
        if sessions:
            return to_jsonable_python(await service.search_chats(session, actor, query, filters, limit))
        return to_jsonable_python(await service.search_messages(session, actor, query, filters, limit))

    found = _run(work, account)
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    rows = found if sessions else found["messages"]
    total = str(len(rows)) if sessions else f"{found['total']}{'' if found.get('total_exact', True) else '+'}"
    from chasm.cli.chats import fitted_table, fixed_column, text_column

    table = fitted_table(f"{len(rows)} of {total} matches for {query!r}")
    fixed_column(table, "Id", 8)
    text_column(table, "Title", ratio=2)
    fixed_column(table, "Provider", 11)
    fixed_column(table, "Hits" if sessions else "Role", 4 if sessions else 9, right=sessions)
    text_column(table, "Snippet", ratio=3)
    for row in rows:
        table.add_row(
            (row["id"] if sessions else row["session_id"])[:8],
            escape(" ".join((row.get("title") or "").split())),
            row.get("provider") or "",
            str(row["match_count"]) if sessions else row["role"],
            _snippet(" ".join((row.get("snippet") or "").split())),
        )
    Console().print(table)


def export(
    chat_id: str = typer.Argument(..., help="The chat (session) id, or a unique prefix of it."),
    fmt: str = typer.Option("markdown", "--format", "-f", help="json, markdown, html or pdf."),
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="File to write ('-' for standard output; default: text to stdout, pdf to ./NAME).",
    ),
    account: str | None = ACCOUNT,
) -> None:
    """Export one chat as JSON, Markdown, a self-contained HTML page or a PDF."""
    from chasm.chats.export import export_chat

    async def work(session: Any, actor: Any) -> tuple[bytes, str, str]:
        from chasm.chats.service import resolve_chat_id

        full_id = await resolve_chat_id(session, actor, chat_id)
        return await export_chat(session, actor.account_id, str(full_id), fmt)

    content, media_type, filename = _run(work, account)
    if output == "-" or (output is None and media_type != "application/pdf"):
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    target = Path(output or filename)
    target.write_bytes(content)
    typer.echo(f"Wrote {target} ({len(content)} bytes, {media_type})", err=True)


def stats(
    view: str = typer.Option("overview", "--by", help="overview, providers, models or timeline."),
    period: str = typer.Option("week", "--period", help="Timeline buckets: day, week, month or year."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Chats, messages, tokens and estimated cost of the chat library."""
    from chasm.chats import stats as service

    views = {
        "overview": lambda s, a: service.overview(s, a),
        "providers": lambda s, a: service.providers(s, a),
        "models": lambda s, a: service.models(s, a),
        "timeline": lambda s, a: service.timeline(s, a, period),
    }
    if view not in views:
        raise typer.BadParameter(f"use one of {', '.join(views)}", param_hint="--by")
    if period not in ("day", "week", "month", "year"):
        raise typer.BadParameter("use day, week, month or year", param_hint="--period")
    data: Any = _run(views[view], account)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console()
    if view == "overview":
        overview = Table(title="Chat library", show_header=False)
        for key in (
            "total_sessions",
            "total_messages",
            "workspaces",
            "active_providers",
            "total_tool_invocations",
            "sessions_today",
            "messages_today",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "total_tokens",
        ):
            overview.add_row(key.replace("_", " ").capitalize(), f"{data[key]:,}")
        overview.add_row("Estimated cost (USD)", _usd(data["estimated_cost_usd"]))
        console.print(overview)
        data = data["models"]
        view = "models"
    rows: list[dict[str, Any]] = data
    columns = {
        "providers": ("provider", "session_count", "message_count", "token_count", "estimated_cost_usd"),
        "models": (
            "model",
            "message_count",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "estimated_cost_usd",
        ),
        "timeline": ("date", "sessions", "messages", "tokens"),
    }[view]
    # Short headers, unwrapped numbers: the names get what is left of an 80-column terminal.
    table = Table(title=view.capitalize(), box=box.SIMPLE_HEAD)
    for column in columns:
        text = column in ("provider", "model", "date")
        table.add_column(
            _HEADERS.get(column, column.replace("_", " ").capitalize()),
            justify="left" if text else "right",
            no_wrap=not text,
            overflow="fold" if text else "ellipsis",
        )
    for row in rows:
        table.add_row(*(_cell(column, row[column]) for column in columns))
    console.print(table)


_HEADERS = {
    "session_count": "Chats",
    "sessions": "Chats",
    "message_count": "Msgs",
    "messages": "Msgs",
    "token_count": "Tokens",
    "tokens": "Tokens",
    "input_tokens": "Input",
    "output_tokens": "Output",
    "cache_read_tokens": "Cache read",
    "estimated_cost_usd": "Cost",
}


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _cell(column: str, value: Any) -> str:
    if column == "estimated_cost_usd":
        return _usd(value)
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value if value is not None else "(none)"))


def register(group: typer.Typer) -> None:
    """Add `search` and `export` to a `chats` command group."""
    group.command("search")(search)
    group.command("export")(export)

"""`chasm secrets scan|redact`: secrets in the local chat library, found and redacted."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from chasm.cli.chats import ACCOUNT, AS_JSON, _print_json, fitted_table, fixed_column, run, text_column

secrets_app = typer.Typer(help="Secrets (keys, tokens, passwords) in the chat library.", no_args_is_help=True)
CHAT = typer.Option(None, "--chat", help="Only this chat (id or unique prefix).")


@secrets_app.command("scan")
def scan(
    chat: str | None = CHAT,
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=1000),
    offset: int = typer.Option(0, "--offset", min=0),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """List the secrets in stored chats, masked, with their chat, message and rule."""
    from chasm.chats import service as chats
    from chasm.secrets import service

    async def work(session: Any, actor: Any) -> Any:
        chat_id = await chats.resolve_chat_id(session, actor, chat) if chat else None
        return await service.scan(session, actor, chat_id, limit, offset)

    data = run(work, account)
    if as_json:
        _print_json(data)
        return
    if not data["findings"]:
        typer.echo(f"No secrets found in {data['messages_scanned']} messages.")
        return
    table = fitted_table(f"{data['total']} secrets in {data['chats']} chats")
    fixed_column(table, "Chat", 8)
    fixed_column(table, "Msg", 4, right=True)
    fixed_column(table, "Rule", 18)
    text_column(table, "Excerpt", 3)
    for f in data["findings"]:
        seq = "title" if f["seq"] is None else str(f["seq"])
        table.add_row(f["chat_id"][:8], seq, f["rule"], escape(f["excerpt"]))
    Console().print(table)


@secrets_app.command("redact")
def redact(
    chat: str | None = CHAT,
    rule: list[str] = typer.Option(None, "--rule", help="Only this rule (repeatable)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Replace the secrets in the stored chats with [REDACTED:<rule>] (the tools' files are left alone)."""
    from chasm.chats import service as chats
    from chasm.secrets import service
    from chasm.secrets.schemas import RedactRequest

    if not yes:
        typer.confirm("Rewrite the stored chats without their secrets? This cannot be undone", abort=True)

    async def work(session: Any, actor: Any) -> Any:
        chat_id = await chats.resolve_chat_id(session, actor, chat) if chat else None
        return await service.redact(session, actor, RedactRequest(chat_id=chat_id, rules=rule or None))

    data = run(work, account)
    if as_json:
        _print_json(data)
        return
    typer.echo(
        f"Redacted {data['secrets_redacted']} secrets: {data['messages_rewritten']} messages and "
        f"{data['titles_rewritten']} titles rewritten in {data['chats']} chats."
    )

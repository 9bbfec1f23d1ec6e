"""`chasm webhooks` and `chasm billing`: webhook endpoints, deliveries and the billing summary,
through the HTTP API."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from chasm.cli import pages
from chasm.cli.api_errors import fail
from chasm.client.errors import ChasmAPIError

webhooks_app = typer.Typer(
    help="Webhook endpoints and deliveries, through the HTTP API.", no_args_is_help=True
)
billing_app = typer.Typer(help="Plan, wallet and usage, through the HTTP API.", no_args_is_help=True)

URL = typer.Option("http://127.0.0.1:8787", "--url", envvar="CHASM_URL", help="The Chasm server.")
KEY = typer.Option(..., "--key", envvar="CHASM_API_KEY", help="An API key (sk_...).")
JSON_OUT = typer.Option(False, "--json", help="Print the server's JSON answer.")

HOOK_COLUMNS = ("id", "url", "event_types", "enabled", "consecutive_failures")
DELIVERY_COLUMNS = (
    "id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "created_at",
    "delivered_at",
)


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
    Console(width=200).print(table)
    pages.note_more(data)


@webhooks_app.command("create")
def create(
    endpoint: str = typer.Argument(..., help="The receiver's URL."),
    event: list[str] = typer.Option(
        ..., "--event", help="An event type or pattern (repeatable), e.g. session.*"
    ),
    description: str = typer.Option(None, "--description"),
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """Create an endpoint and print its signing secret (shown only this once)."""
    data = _run(url, key, lambda c: c.webhooks.create(endpoint, event, description))
    if as_json:
        _show(data, True, HOOK_COLUMNS)
        return
    _show(data, False, HOOK_COLUMNS)
    typer.echo(f"Signing secret (shown only this once): {data.secret}")


@webhooks_app.command("list")
def list_(
    limit: int = pages.LIMIT,
    offset: int = pages.OFFSET,
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """List the account's endpoints, oldest first."""
    _show(_run(url, key, lambda c: c.webhooks.list(limit=limit, offset=offset)), as_json, HOOK_COLUMNS)


@webhooks_app.command("deliveries")
def deliveries(
    webhook: str = typer.Option(None, "--webhook", help="Only this endpoint's deliveries."),
    event_type: str = typer.Option(None, "--event-type"),
    status: str = typer.Option(None, "--status", help="pending | succeeded | failed | discarded"),
    limit: int = pages.LIMIT,
    offset: int = pages.OFFSET,
    url: str = URL,
    key: str = KEY,
    as_json: bool = JSON_OUT,
) -> None:
    """List deliveries, newest event first."""
    data = _run(
        url,
        key,
        lambda c: c.webhooks.deliveries(
            webhook_id=webhook, event_type=event_type, status=status, limit=limit, offset=offset
        ),
    )
    _show(data, as_json, DELIVERY_COLUMNS)


@webhooks_app.command("replay")
def replay(delivery: str, url: str = URL, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Send a delivery again."""
    _show(_run(url, key, lambda c: c.webhooks.replay(delivery)), as_json, DELIVERY_COLUMNS)


@billing_app.command("summary")
def summary(url: str = URL, key: str = KEY, as_json: bool = JSON_OUT) -> None:
    """Plan, limits, wallet, storage and recent usage of the account."""
    data = _run(url, key, lambda c: c.billing.summary())
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    plan, wallet = data["plan"], data["wallet"]
    lines = [
        f"plan:      {plan['code']}" + (" (unlimited)" if plan["unlimited"] else ""),
        f"limits:    live sessions {plan['live_sessions'] or '-'},"
        f" time cap {plan['session_time_cap_s'] or '-'} s, ephemeral only {plan['ephemeral_only']}",
        f"wallet:    ${wallet['balance_usd']:.2f}"
        + (" (used)" if plan["wallet"] else " (not used by this plan)"),
        f"storage:   {data['storage']['bytes']} bytes in {data['storage']['workspaces']} workspace(s)",
    ]
    for name in ("usage_24h", "usage_30d"):
        u = data[name]
        lines.append(
            f"{name[6:]:>3} usage: {u['session_seconds']:.0f} session s, {u['exec_count']} execs,"
            f" {u['tokens']:.0f} tokens, ${u['spent_usd']:.4f} spent"
        )
    typer.echo("\n".join(lines))

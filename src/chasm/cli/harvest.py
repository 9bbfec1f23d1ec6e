"""`chasm harvest`: harvest every coding tool's chats into the local library, with a progress bar."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from chasm.cli.chats import ACCOUNT, AS_JSON, local


def harvest(
    provider: list[str] = typer.Option(None, "--provider", "-p", help="Only this provider (repeatable)."),
    root: list[str] = typer.Option(
        None, "--root", help="Extra folder to scan, as PROVIDER=PATH (repeatable)."
    ),
    include_disabled: bool = typer.Option(False, "--all", help="Include providers disabled in the settings."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
) -> None:
    """Harvest chats from every coding tool found here (incremental: unchanged files are skipped)."""
    from chasm.harvest import service
    from chasm.kit.errors import ChasmError

    console = Console(stderr=True)
    try:
        extra = service.parse_root_options(root or [])
    except ChasmError as exc:
        raise typer.BadParameter(exc.message, param_hint="--root") from exc

    async def main() -> Any:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            async with local(account) as (maker, actor, settings):
                return await service.harvest(
                    maker,
                    settings,
                    actor.account_id,
                    actor=actor,
                    providers=provider or None,
                    include_disabled=include_disabled,
                    extra_roots=extra,
                    progress=progress,
                )

    try:
        report = asyncio.run(main())
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    data = report.as_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Harvest ({data['duration_ms'] / 1000:.1f} s)")
    columns = (
        "units_seen",
        "units_parsed",
        "units_skipped",
        "chats_created",
        "chats_updated",
        "messages_added",
        "errors",
    )
    table.add_column("Provider")
    for column in columns:
        table.add_column(column.replace("_", " ").capitalize(), justify="right")
    for name, counts in data["providers"].items():
        table.add_row(name, *(f"{counts[c]:,}" for c in columns))
    out = Console()
    out.print(table)
    for issue in data["errors"][:50]:
        out.print(f"[yellow]warning[/] {issue}", highlight=False, markup=False)
    if len(data["errors"]) > 50:
        out.print(f"... and {len(data['errors']) - 50} more issues")

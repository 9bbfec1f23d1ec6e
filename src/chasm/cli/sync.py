"""`chasm sync`: push and pull the local library to the storage the settings name, with progress."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from chasm.cli.chats import ACCOUNT, AS_JSON
from chasm.cli.localdb import local_operator


def sync(account: str | None = ACCOUNT, as_json: bool = AS_JSON) -> None:
    """Sync the library with the remote one (settings: sync_enabled, sync_provider, encryption_enabled;
    server config: sync_locations, sync_storage_options, sync_encryption_key)."""
    from chasm.kit.errors import ChasmError
    from chasm.sync import service

    console = Console(stderr=True)

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

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            async with local_operator(account) as (maker, actor, settings):
                return await service.sync(maker, settings, actor, progress)

    try:
        result = asyncio.run(main())
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json")))
        return
    typer.echo(
        f"Uploaded {result.uploaded}, downloaded {result.downloaded}, conflicts {result.conflicts} "
        f"(last sync {result.last_sync.isoformat()})"
    )
    if result.conflicts:
        typer.echo("Conflicting chats were kept in both versions: look for '(conflicting copy)'.", err=True)

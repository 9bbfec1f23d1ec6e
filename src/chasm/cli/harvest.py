"""`chasm harvest`: harvest every coding tool's chats into the local library, with a progress bar,
or (`--remote URL`) upload them to a Chasm server's library."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from chasm.cli.chats import ACCOUNT, AS_JSON
from chasm.cli.localdb import local_operator


def harvest(
    provider: list[str] = typer.Option(None, "--provider", "-p", help="Only this provider (repeatable)."),
    root: list[str] = typer.Option(
        None, "--root", help="Extra folder to scan, as PROVIDER=PATH (repeatable)."
    ),
    include_disabled: bool = typer.Option(False, "--all", help="Include providers disabled in the settings."),
    account: str | None = ACCOUNT,
    as_json: bool = AS_JSON,
    remote: str | None = typer.Option(
        None, "--remote", help="Upload this machine's transcripts to the Chasm server at this URL instead."
    ),
    key: str | None = typer.Option(None, "--key", envvar="CHASM_API_KEY", help="API key for --remote."),
    resend: bool = typer.Option(False, "--resend", help="With --remote: send every file, changed or not."),
    watch: bool = typer.Option(
        False, "--watch", help="Keep running: follow the transcripts as they grow (Ctrl-C stops)."
    ),
) -> None:
    """Harvest chats from every coding tool found here (incremental: unchanged files are skipped)."""
    from chasm.harvest import service
    from chasm.kit.errors import ChasmError

    console = Console(stderr=True)
    try:
        extra = service.parse_root_options(root or [])
    except ChasmError as exc:
        raise typer.BadParameter(exc.message, param_hint="--root") from exc
    if remote is not None:
        if not key:
            raise typer.BadParameter("--remote needs an API key (--key or CHASM_API_KEY)", param_hint="--key")
        try:
            data = _upload(remote, key, account, provider or None, extra, include_disabled, resend, console)
        except ChasmError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc
        _report(data, as_json)
        return
    if watch:
        _watch(account, provider or None, extra, include_disabled, as_json, console)
        return

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

            async with local_operator(account) as (maker, actor, settings):
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
    _report(report.as_dict(), as_json)
    if not as_json:
        typer.echo(f"Library: {_library_location()}", err=True)


def _watch(
    account: str | None,
    providers: list[str] | None,
    extra: dict[str, list[str]],
    include_disabled: bool,
    as_json: bool,
    console: Console,
) -> None:
    """`--watch`: harvest once, then each change as it is written, until interrupted. With
    `CHASM_REDIS_URL` set, the server's `/ws` subscribers see the updates too."""
    from chasm.kit.errors import ChasmError
    from chasm.kit.events import create_bus
    from chasm.watch.watcher import Watcher, describe

    def show(report: Any) -> None:
        if as_json:
            typer.echo(json.dumps(describe(report)))
        else:
            counts = describe(report)
            console.print(f"stored {counts['messages']} messages in {counts['chats']} chats", highlight=False)
            for issue in report.issues:
                console.print(f"  {issue.provider}: {issue.path}: {issue.message}", highlight=False)

    async def main() -> None:
        async with local_operator(account) as (maker, actor, settings):
            bus = create_bus(settings.redis_url)
            await bus.start()
            try:
                watcher = Watcher(
                    maker,
                    settings,
                    actor.account_id,
                    bus=bus,
                    providers=providers,
                    extra_roots=extra,
                    include_disabled=include_disabled,
                    on_report=show,
                )
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()

                def stop_watching() -> None:  # Ctrl-C ends the watch in order; a second one interrupts
                    stop.set()
                    loop.remove_signal_handler(signal.SIGINT)

                loop.add_signal_handler(signal.SIGINT, stop_watching)
                task = asyncio.create_task(watcher.run(stop))
                await watcher.ready.wait()
                roots = ", ".join(str(r) for r in watcher.roots()) or "nothing yet"
                console.print(f"Watching {roots} (Ctrl-C stops)", highlight=False)
                await task
            finally:
                await bus.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _library_location() -> str:
    """Where the chats went: the SQLite file, or the database URL without its password."""
    from sqlalchemy.engine import make_url

    from chasm.config import get_settings

    url = make_url(get_settings().effective_database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def _upload(
    url: str,
    key: str,
    account: str | None,
    providers: list[str] | None,
    extra: dict[str, list[str]],
    include_disabled: bool,
    resend: bool,
    console: Console,
) -> dict[str, Any]:
    """Discover here, upload what changed since the last run in batches, and add up the server's
    reports."""
    from chasm.client.errors import ChasmAPIError
    from chasm.client.sync import Chasm
    from chasm.config import get_settings
    from chasm.harvest import remote, service

    settings = get_settings()
    plans = service.build_plans(settings, {}, providers, extra, include_disabled)
    state = remote.SentState(settings.data_dir, url, account)
    total: dict[str, Any] = {"providers": {}, "errors": [], "duration_ms": 0}
    with Chasm(url, key, account=account) as client:
        for number, batch in enumerate(remote.batches(plans, None if resend else state.sent), start=1):
            console.print(f"uploading batch {number}: {batch.units} units, {len(batch.archive):,} bytes")
            try:
                report = client.chats.upload_transcripts([(f"batch-{number}.tar.gz", batch.archive)])
            except ChasmAPIError as exc:
                typer.echo(f"error: {exc.message} ({exc.status_code} {exc.code})", err=True)
                raise typer.Exit(1) from exc
            for name, counts in report.providers.items():
                mine = total["providers"].setdefault(name, dict.fromkeys(counts, 0))
                for column, value in counts.items():
                    mine[column] = mine.get(column, 0) + value
            total["errors"].extend(report.errors)
            total["duration_ms"] += report.duration_ms or 0
            state.save(batch.sent)
    return total


def _report(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    # Short headers and only the sources that found something: the table fits 80 columns.
    columns = {
        "units_seen": "Seen",
        "units_parsed": "Parsed",
        "units_skipped": "Skipped",
        "chats_created": "New",
        "chats_updated": "Updated",
        "messages_added": "Messages",
        "errors": "Errors",
    }
    table = Table(title=f"Harvest ({data['duration_ms'] / 1000:.1f} s)", box=box.SIMPLE_HEAD)
    table.add_column("Source", no_wrap=True)
    for header in columns.values():
        table.add_column(header, justify="right", no_wrap=True)
    quiet = 0
    for name, counts in data["providers"].items():
        if not any(counts.get(c, 0) for c in columns):
            quiet += 1
            continue
        table.add_row(name, *(f"{counts.get(c, 0):,}" for c in columns))
    table.caption = "Seen, parsed, skipped: files and databases. New, updated: chats." + (
        f"\n{quiet} other sources found nothing." if quiet else ""
    )
    out = Console()
    out.print(table)
    for issue in data["errors"][:50]:
        out.print(f"[yellow]warning[/] {issue}", highlight=False, markup=False)
    if len(data["errors"]) > 50:
        out.print(f"... and {len(data['errors']) - 50} more issues")

"""`chasm harvest`: harvest every coding tool's chats into the local library, with a progress bar,
or (`--remote URL`) upload them to a Chasm server's library."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import typer
from rich.console import Console

from chasm.cli.chats import ACCOUNT, AS_JSON
from chasm.cli.harvest_report import library_location, show_report
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
    from chasm.harvest.report import parse_root_options
    from chasm.kit.errors import ChasmError

    console = Console(stderr=True)
    try:
        extra = parse_root_options(root or [])
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
        show_report(data, as_json)
        return
    if watch:
        _watch(account, provider or None, extra, include_disabled, as_json, console)
        return
    from chasm.harvest import quick

    unchanged = quick.unchanged_report(provider or None, extra, include_disabled, account)
    if unchanged is not None:  # nothing to store: answered without loading the store
        show_report(unchanged.as_dict(), as_json)
        if not as_json:
            typer.echo(f"Library: {library_location()}", err=True)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from chasm.harvest import service

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
    show_report(report.as_dict(), as_json)
    if not as_json:
        typer.echo(f"Library: {library_location()}", err=True)


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
            messages, chats = counts["messages"], counts["chats"]
            console.print(
                f"stored {messages} message{'s' * (messages != 1)} in {chats} chat{'s' * (chats != 1)}",
                highlight=False,
            )
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
    from chasm.harvest import remote
    from chasm.harvest.report import build_plans

    settings = get_settings()
    plans = build_plans(settings, {}, providers, extra, include_disabled)
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

"""`chasm worker`: run job workers in their own process, beside (or instead of) the server's."""

from __future__ import annotations

import asyncio
import importlib
import signal

import typer


async def _run(concurrency: int) -> None:
    from chasm.app import create_app
    from chasm.config import get_settings

    settings = get_settings().model_copy(update={"embedded_workers": concurrency, "bootstrap_admin": False})
    app = create_app(settings, role="worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # The server's lifespan gives the workers what job handlers use: database, event bus, drivers.
    async with app.router.lifespan_context(app):
        typer.echo(
            f"chasm worker ready: {concurrency} worker(s) on {settings.effective_database_url.split('@')[-1]}"
        )
        await stop.wait()
    typer.echo("chasm worker stopped")


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, help="Jobs run at the same time."),
    imports: list[str] = typer.Option(  # noqa: B008
        [], "--import", help="Extra module registering job kinds (repeatable)."
    ),
) -> None:
    """Run job workers until interrupted; jobs running when stopped go back to the queue."""
    from chasm.jobs import registry

    for module in imports:
        importlib.import_module(module)
    registry.load_builtin_kinds()
    asyncio.run(_run(concurrency))

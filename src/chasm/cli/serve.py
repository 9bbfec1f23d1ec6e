"""`chasm api serve`: run the HTTP server (spec 003)."""

from __future__ import annotations

import gc
import os

import typer

GC_YOUNG_THRESHOLD = 20_000  # objects alive since the last young collection (Python's default: 700)

api_app = typer.Typer(help="The HTTP API server.", no_args_is_help=True)


@api_app.command("serve")
def serve(
    host: str = typer.Option(None, help="Address to bind (default 127.0.0.1, or CHASM_HOST)."),
    port: int = typer.Option(None, help="Port to bind (default 8787, or CHASM_PORT)."),
    workers: int = typer.Option(1, help="Number of server processes."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Run the Chasm server: the platform API, the chat API, and the embedded job workers."""
    import uvicorn

    from chasm.config import get_settings
    from chasm.kit import datalock

    if host:
        os.environ["CHASM_HOST"] = host
    if port:
        os.environ["CHASM_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    if workers != 1:
        # Every server process would own (recover, reap, stop) the same sandboxes.
        typer.echo("chasm api serve runs one process per data directory; add job workers with `chasm worker`")
        raise typer.Exit(2)
    try:
        datalock.hold(settings.data_dir)
    except datalock.DataDirLocked as exc:
        typer.echo(f"chasm api serve: {exc.message}", err=True)
        raise typer.Exit(1) from None
    # The server process collects young objects once 20,000 more are alive rather than 700: a
    # recording batch of 500 events keeps about 10,000 alive until it is stored, and at 700 each
    # batch was walked by dozens of collections, then promoted, until full collections (126 ms
    # each) took a third of the event loop's time (bench.recording: 29 full collections, 4.4 s in
    # the collector in all; with 20,000: no full one, 0.9 s). Set here, for this process, not by
    # the app, which tests start many times in theirs.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    uvicorn.run(
        "chasm.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
        # The sandbox driver forks helpers per exec; measured ~4x faster on asyncio's loop than uvloop.
        loop="asyncio",
    )

"""The `chasm` command line (`chasm.cli.main` starts it). Sub-commands mirror the server's domains."""

from __future__ import annotations

import typer

import chasm
from chasm.cli import (
    admin,
    agents,
    browser,
    chats,
    doctor,
    harvest,
    images,
    keys,
    mcp,
    sandbox,
    search_export,
    secrets,
    serve,
    sync,
    webhooks,
    worker,
    workspaces,
)

app = typer.Typer(
    help="Chasm: a self-hosted platform for AI agents and a chat session manager.", no_args_is_help=True
)
app.add_typer(serve.api_app, name="api")
app.add_typer(admin.admin_app, name="admin")
app.add_typer(images.images_app, name="images")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(sandbox.sandbox_app, name="sandbox")
app.add_typer(mcp.mcp_app, name="mcp")
app.add_typer(browser.browser_app, name="browser")
app.add_typer(workspaces.workspace_app, name="workspace")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(webhooks.billing_app, name="billing")
app.command("worker")(worker.worker)
app.command("doctor")(doctor.doctor)
app.add_typer(chats.chats_app, name="chats")
app.add_typer(secrets.secrets_app, name="secrets")
chats.chats_app.command("continue")(agents.continue_chat)
app.add_typer(agents.agents_app, name="agents")
app.command("harvest")(harvest.harvest)
app.command("sync")(sync.sync)
app.command("stats")(search_export.stats)
app.command("search")(search_export.search)


@app.command()
def version() -> None:
    """Print Chasm's version."""
    typer.echo(f"chasm {chasm.__version__}")


def run() -> None:
    """The commands, with a server that cannot be reached said in one line (naming the URL)
    instead of a traceback."""
    try:
        app()
    except Exception as exc:
        import httpx  # already loaded by whatever raised an httpx error: costs nothing then

        if not isinstance(exc, httpx.TransportError):
            raise
        try:
            where = str(exc.request.url.copy_with(path="/", query=None))
        except RuntimeError:  # an error raised before any request was made
            where = "the server"
        reason = str(exc) or type(exc).__name__
        typer.echo(
            f"error: cannot reach Chasm at {where} ({reason}); is `chasm api serve` running? "
            "(--url or CHASM_URL names the server)",
            err=True,
        )
        raise SystemExit(1) from None

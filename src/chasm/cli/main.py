"""The `chasm` command line. Sub-commands mirror the server's domains."""

from __future__ import annotations

import typer

from chasm import __version__
from chasm.cli import serve

app = typer.Typer(
    help="Chasm: a self-hosted platform for AI agents and a chat session manager.", no_args_is_help=True
)
app.add_typer(serve.api_app, name="api")


@app.command()
def version() -> None:
    """Print Chasm's version."""
    typer.echo(f"chasm {__version__}")


if __name__ == "__main__":
    app()

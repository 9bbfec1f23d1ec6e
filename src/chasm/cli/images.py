"""`chasm images`: register, list and remove sandbox root filesystems (local, on the server host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chasm.config import Settings

from pathlib import Path

import typer

images_app = typer.Typer(help="Root filesystems for sandbox sessions (the `image` of a session).")


def _settings() -> Settings:
    from chasm.config import get_settings

    return get_settings()


@images_app.command("add")
def add(
    name: str = typer.Argument(..., help="Image name (lowercase letters, digits, '.', '_', '-')."),
    source: Path = typer.Argument(..., help="A root filesystem directory or a tarball of one."),
) -> None:
    """Register a root filesystem as an image."""
    from chasm.kit.errors import ChasmError
    from chasm.sandbox import images

    try:
        image = images.add(_settings(), name, source)
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"added image {image.name} ({image.size_bytes} bytes)")


@images_app.command("list")
def list_() -> None:
    """List registered images."""
    from chasm.sandbox import images

    for image in images.list_images(_settings()):
        typer.echo(f"{image.name}\t{image.size_bytes}\t{image.created_at}\t{image.source}")


@images_app.command("remove")
def remove(name: str = typer.Argument(..., help="Image name.")) -> None:
    """Remove a registered image."""
    from chasm.kit.errors import ChasmError
    from chasm.sandbox import images

    try:
        images.remove(_settings(), name)
    except ChasmError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"removed image {name}")

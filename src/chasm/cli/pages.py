"""How the remote commands show a page of a `/v1` list (`{items, total, limit, offset}`): the
rows, and a line on stderr when more are left (`--offset` reads on)."""

from __future__ import annotations

from typing import Any

import typer

LIMIT = typer.Option(50, "--limit", min=1, max=500, help="Most rows to show (1..500).")
OFFSET = typer.Option(0, "--offset", min=0, help="Rows to skip (to read the next page).")


def is_page(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("items"), list) and "total" in data


def rows(data: Any) -> list[dict[str, Any]]:
    """The rows to print: a page's items, a bare list, or the one object answered."""
    if is_page(data):
        return list(data["items"])
    return list(data) if isinstance(data, list) else [data]


def note_more(data: Any) -> None:
    """Say, on stderr, which rows of how many were shown when the list goes on past this page."""
    if not is_page(data):
        return
    shown, total, offset = len(data["items"]), int(data["total"]), int(data.get("offset") or 0)
    if offset + shown < total:
        first = offset + 1 if shown else offset
        typer.echo(
            f"rows {first}-{offset + shown} of {total}; --offset {offset + shown} shows the next ones",
            err=True,
        )

"""How the remote commands show a page of a `/v1` list (`{items, total, limit, offset}`): the
rows, and a line on stderr when more are left (`--offset` reads on). They take the client's `Page`
(or the raw answer, a dict), and a single object for `rows`."""

from __future__ import annotations

from typing import Any

import typer

from chasm.client.pages import Page

LIMIT = typer.Option(50, "--limit", min=1, max=500, help="Most rows to show (1..500).")
OFFSET = typer.Option(0, "--offset", min=0, help="Rows to skip (to read the next page).")


def is_page(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("items"), list) and "total" in data


def _raw(item: Any) -> Any:
    return getattr(item, "raw", item)


def rows(data: Any) -> list[dict[str, Any]]:
    """The rows to print: a page's items, a bare list, or the one object answered."""
    if isinstance(data, Page):
        return [_raw(item) for item in data.items]
    if is_page(data):
        return list(data["items"])
    return [_raw(item) for item in data] if isinstance(data, list) else [_raw(data)]


def _counts(data: Any) -> tuple[int, int, int] | None:
    """(shown, total, offset) of a page, or None where the answer does not count its rows."""
    if isinstance(data, Page):
        if data.total is None:
            return None
        return len(data.items), int(data.total), int(data.offset or 0)
    if is_page(data):
        return len(data["items"]), int(data["total"]), int(data.get("offset") or 0)
    return None


def note_more(data: Any) -> None:
    """Say, on stderr, which rows of how many were shown when the list goes on past this page."""
    counts = _counts(data)
    if counts is None:
        return
    shown, total, offset = counts
    if offset + shown < total:
        first = offset + 1 if shown else offset
        typer.echo(
            f"rows {first}-{offset + shown} of {total}; --offset {offset + shown} shows the next ones",
            err=True,
        )

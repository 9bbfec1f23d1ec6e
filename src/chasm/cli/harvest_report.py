"""What `chasm harvest` prints: the report table (or JSON) and where the library lives. Loads
Rich only for the table, so that the quick answer to an unchanged harvest (`cli.harvest_quick`)
can print it."""

from __future__ import annotations

import json
import sys
from typing import Any


def show_report(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

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
    # Padding collapsed, none at the edges: the eight columns fit 80 with the longest source names (a newcomer
    # saw "Updat…" and "Erro…" with `claude-ai-export` in the table).
    table = Table(
        title=f"Harvest ({data['duration_ms'] / 1000:.1f} s)",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
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
        # The issue as written (a path may hold brackets), after a yellow label.
        out.print(Text.assemble(("warning", "yellow"), f" {issue}"), highlight=False)
    if len(data["errors"]) > 50:
        out.print(f"... and {len(data['errors']) - 50} more issues")


def library_location() -> str:
    """Where the chats went: the SQLite file, or the database URL without its password."""
    from chasm.harvest import quick

    found = quick.library_file()
    if found is not None:
        return found
    from sqlalchemy.engine import make_url

    from chasm.config import get_settings

    url = make_url(get_settings().effective_database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def print_library_location() -> None:
    print(f"Library: {library_location()}", file=sys.stderr)

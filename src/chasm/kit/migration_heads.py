"""The head revisions of the migration scripts, read without Alembic or SQLAlchemy: a command
that finds the schema current (one query) needs neither."""

from __future__ import annotations

import functools
import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=]*=\s*(.+)$", re.M)


@functools.cache
def migration_heads() -> frozenset[str]:
    """The head revisions of the migration scripts, read from their `revision` and
    `down_revision` lines: what Alembic's script directory would say, without importing Alembic
    and every script (most of a CLI call's start when the schema is current)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        for kind, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if kind == "revision" else parents).update(names)
    return frozenset(revisions - parents)

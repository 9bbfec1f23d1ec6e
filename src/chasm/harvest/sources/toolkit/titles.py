"""A chat's title when the tool keeps none: from its first prompt."""

from __future__ import annotations


def title_from(text: str | None, limit: int = 80) -> str | None:
    """A short title from a first prompt: its first non-empty line, cut at `limit` characters."""
    if not text:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return None

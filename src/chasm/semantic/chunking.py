"""Split a message's text into overlapping pieces the embedding model reads whole (its window is
256 tokens, about 1,000 characters of English)."""

from __future__ import annotations

import re

CHUNK_CHARS = 900
OVERLAP_CHARS = 150
MAX_CHUNKS = 64  # per message: a pasted log of megabytes is represented by its beginning
_SPACE = re.compile(r"\s+")


def chunks(text: str) -> list[str]:
    """Pieces of about CHUNK_CHARS characters cut at whitespace, each overlapping the one before."""
    flat = _SPACE.sub(" ", text).strip()
    if not flat:
        return []
    pieces: list[str] = []
    start = 0
    while start < len(flat) and len(pieces) < MAX_CHUNKS:
        end = min(len(flat), start + CHUNK_CHARS)
        if end < len(flat):
            cut = flat.rfind(" ", start + CHUNK_CHARS // 2, end)
            end = cut if cut > start else end
        pieces.append(flat[start:end].strip())
        if end >= len(flat):
            break
        back = flat.find(" ", max(start + 1, end - OVERLAP_CHARS), end)
        start = back + 1 if back > start else end
    return [p for p in pieces if p]

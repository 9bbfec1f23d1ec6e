"""The host's mount table, read to find mounts a dead sandbox or server left behind."""

from __future__ import annotations

import re
from pathlib import Path

_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def mounts_under(root: Path) -> list[Path]:
    """Mount points strictly below `root` (deepest first, so they can be detached in order)."""
    prefix = str(root).rstrip("/") + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found = {_unescape(line.split()[4]) for line in lines if len(line.split()) > 4}
    inside = [Path(p) for p in found if p.startswith(prefix)]
    return sorted(inside, key=lambda p: len(p.parts), reverse=True)

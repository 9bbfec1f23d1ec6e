"""What the harvest knows of a unit before parsing it: the fingerprint of its files, what the store
kept of it last time, and whether an append-only log can be parsed on from where it was left."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chasm.harvest.model import Resume, SourceUnit
from chasm.harvest.spec import HarvestSource

HEAD_BYTES = 4096  # the start of a log that must not change for it to count as appended to


@dataclass
class StoredUnit:
    """A unit's row in `harvest_files`, as the last harvest left it."""

    fingerprint: str
    size: int
    head_hash: str | None
    resume_offset: int | None
    resume_state: dict[str, Any] | None
    chat_source_ids: list[str]
    missing: bool


@dataclass
class Job:
    """A changed unit of `source` to parse and store: its new fingerprint and size, where to resume
    (None: parse it all) and what was stored of it before (None: a new unit)."""

    source: HarvestSource
    unit: SourceUnit
    fingerprint: str
    size: int
    resume: Resume | None
    known: StoredUnit | None

    @property
    def primary_path(self) -> str:
        return str(self.unit.paths[0]) if self.unit.paths else self.unit.key


def stat_fingerprint(paths: list[Path]) -> tuple[str, int] | None:
    """Size and mtime of each file ("-" for a missing side file) and the first file's size; None when
    the first file is gone."""
    parts = []
    size = 0
    for i, path in enumerate(paths):
        try:
            st = os.stat(path)
        except OSError:
            if i == 0:
                return None
            parts.append("-")
            continue
        if i == 0:
            size = st.st_size
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts), size


def head_hash(path: Path, length: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read(length)).hexdigest()
    except OSError:
        return None


def resume_point(unit: SourceUnit, size: int, fingerprint: str, previous: StoredUnit | None) -> Resume | None:
    """Where to parse on from, when the unit is a log that only grew since it was stored."""
    if not unit.resumable or previous is None or previous.resume_offset is None or previous.missing:
        return None
    if size <= previous.size or previous.head_hash is None:
        return None
    if fingerprint.split("|")[1:] != previous.fingerprint.split("|")[1:]:
        return None  # a side file changed too: parse everything again
    if head_hash(unit.paths[0], min(previous.size, HEAD_BYTES)) != previous.head_hash:
        return None  # rewritten, not appended
    return Resume(previous.resume_offset, dict(previous.resume_state or {}))

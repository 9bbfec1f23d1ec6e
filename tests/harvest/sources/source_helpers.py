"""Helpers of the source tests: the real fixtures, placed where each tool keeps them, and parsed."""

from __future__ import annotations

import shutil
from pathlib import Path

from chasm.harvest.model import ParsedChat, ParseOutcome, SourceUnit
from chasm.harvest.spec import HarvestSource
from shared_fixtures import TRANSCRIPTS


def fixture(provider: str, name: str) -> Path:
    return TRANSCRIPTS / provider / name


def unit(*paths: Path, resumable: bool = True) -> SourceUnit:
    return SourceUnit(key=str(paths[0]), paths=list(paths), resumable=resumable)


def only_chat(outcome: ParseOutcome) -> ParsedChat:
    assert not outcome.issues, outcome.issues
    assert len(outcome.chats) == 1, outcome.chats
    return outcome.chats[0]


def roles(chat: ParsedChat) -> list[str]:
    return [m.role for m in chat.messages]


def parse_all(source: HarvestSource, *roots: Path) -> tuple[list[SourceUnit], list[ParseOutcome]]:
    units = list(source.discover(list(roots)))
    return units, [source.parse(unit) for unit in units]


def copy(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def place(src: Path, dest: Path) -> Path:
    """Copy a fixture file (or folder) to where the real tool would keep it."""
    if src.is_dir():
        # File by file: the fixtures are read-only and their modes must not follow them here.
        for path in sorted(src.rglob("*")):
            if path.is_file():
                place(path, dest / path.relative_to(src))
        dest.mkdir(parents=True, exist_ok=True)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def corrupt_line(src: Path, dest: Path, line_no: int) -> Path:
    """A copy of a JSONL file whose line `line_no` (1-based) is replaced by broken JSON."""
    lines = src.read_bytes().splitlines(keepends=True)
    lines[line_no - 1] = b'{"type": "user", "message": {broken\n'
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(b"".join(lines))
    return dest


def split_copy(src: Path, dest: Path, keep_lines: int) -> tuple[int, bytes]:
    """Write the first `keep_lines` lines of src to dest; return their byte length and the rest."""
    data = src.read_bytes()
    lines = data.splitlines(keepends=True)
    head = b"".join(lines[:keep_lines])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(head)
    rest = b"".join(lines[keep_lines:])
    if rest and not rest.endswith(b"\n"):
        rest += b"\n"
    return len(head), rest

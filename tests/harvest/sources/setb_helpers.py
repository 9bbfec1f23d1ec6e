"""Helpers of the set-B source tests (Copilot, Cursor, Cline, Roo, Continue, OpenCode, Windsurf)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from chasm.harvest.model import ParsedChat, ParseOutcome, SourceUnit
from chasm.harvest.spec import HarvestSource

TRANSCRIPTS = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures")) / "transcripts"
_here = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "transcripts"
if _here.exists():
    TRANSCRIPTS = _here


def fixture(provider: str, name: str) -> Path:
    return TRANSCRIPTS / provider / name


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


def parse_all(source: HarvestSource, *roots: Path) -> tuple[list[SourceUnit], list[ParseOutcome]]:
    units = list(source.discover(list(roots)))
    return units, [source.parse(unit) for unit in units]


def one_chat(outcome: ParseOutcome) -> ParsedChat:
    assert not outcome.issues, outcome.issues
    assert len(outcome.chats) == 1, outcome.chats
    return outcome.chats[0]


def roles(chat: ParsedChat) -> list[str]:
    return [m.role for m in chat.messages]

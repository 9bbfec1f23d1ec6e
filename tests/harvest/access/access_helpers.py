"""Paths of the real transcripts the access tests use."""

from __future__ import annotations

import os
from pathlib import Path

TRANSCRIPTS = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "transcripts"
if not TRANSCRIPTS.exists():
    TRANSCRIPTS = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures")) / "transcripts"
CLAUDE_FILE = TRANSCRIPTS / "claude-code" / "agtrace_claude_session.jsonl"
CODEX_FILE = TRANSCRIPTS / "codex" / "agtrace_codex_session.jsonl"

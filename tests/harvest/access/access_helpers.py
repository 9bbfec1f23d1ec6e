"""Paths of the real transcripts the access tests use."""

from __future__ import annotations

from shared_fixtures import TRANSCRIPTS

CLAUDE_FILE = TRANSCRIPTS / "claude-code" / "agtrace_claude_session.jsonl"
CODEX_FILE = TRANSCRIPTS / "codex" / "agtrace_codex_session.jsonl"

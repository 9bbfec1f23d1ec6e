"""A tiny append-only JSONL source for the engine tests: one chat per file, one record per line
({"role", "content", "ts"?, "id"?, "cwd"?, "parent"?, "title"?}), resumable from a byte offset."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    SourceUnit,
    TokenUsage,
)


class JsonlSource:
    name = "testlog"
    display_name = "Test Log"
    opt_in = False

    def __init__(self) -> None:
        self.parsed: list[tuple[str, int]] = []  # (unit key, offset) of every parse

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return [home / ".testlog"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        for root in roots:
            for path in sorted(root.rglob("*.jsonl")):
                yield SourceUnit(key=str(path), paths=[path], resumable=True)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        offset = resume.offset if resume else 0
        state = dict(resume.state) if resume else {"line": 0, "cwd": None}
        self.parsed.append((unit.key, offset))
        data = path.read_bytes()
        if data.startswith(b"RAISE"):
            raise ValueError("unreadable test log")
        end = data.rfind(b"\n") + 1
        messages: list[ParsedMessage] = []
        issues: list[ParseIssue] = []
        parent = state.get("parent")
        for raw in data[offset:end].splitlines():
            state["line"] += 1
            try:
                record = json.loads(raw)
                if not isinstance(record, dict) or "role" not in record:
                    raise ValueError("not a message record")
            except ValueError as exc:
                issues.append(ParseIssue(str(path), f"corrupt record: {exc}", state["line"]))
                continue
            state["cwd"] = state["cwd"] or record.get("cwd")
            state["title"] = record.get("title") or state.get("title")
            parent = parent or record.get("parent")
            usage = record.get("usage")
            messages.append(
                ParsedMessage(
                    role=record["role"],
                    content=record.get("content", ""),
                    timestamp=datetime.fromisoformat(record["ts"]) if record.get("ts") else None,
                    source_id=record.get("id"),
                    model=record.get("model"),
                    usage=TokenUsage(**usage) if usage else None,
                )
            )
        state["parent"] = parent
        chats = []
        if messages or not issues:
            chats.append(
                ParsedChat(
                    provider=self.name,
                    source_id=path.stem,
                    messages=messages,
                    # A file named untitled*.jsonl records no title (the harvest then finds one).
                    title=state.get("title")
                    or (None if path.stem.startswith("untitled") else f"log {path.stem}"),
                    workspace_path=state["cwd"],
                    parent_source_id=parent,
                    source_path=str(path),
                )
            )
        return ParseOutcome(chats, issues, Resume(end, state))


class SlowFirstSource(JsonlSource):
    """JsonlSource that takes half a second over a file whose name starts with `slow`: a parser
    process given it finishes after one given a later unit."""

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        if unit.paths[0].name.startswith("slow"):
            time.sleep(0.5)
        return super().parse(unit, resume)

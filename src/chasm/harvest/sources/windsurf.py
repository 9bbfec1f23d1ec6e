"""Windsurf (Codeium) Cascade transcripts: `~/.windsurf/transcripts/<trajectoryId>.jsonl`, one step
per line, `{type, status, <type>: {…}}`. (Cascade's own history is encrypted protobuf and cannot be
read.) `user_input` is the user, `planner_response` the model's text, every other step a tool."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    SourceUnit,
    ToolCall,
)
from chasm.harvest.sources.toolkit.coercion import as_dict, as_str
from chasm.harvest.sources.toolkit.jsonl import read_jsonl
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.titles import title_from

# Fields of a step that are its result rather than its arguments.
_OUTPUT_KEYS = ("output", "content", "new_content")


def _tool_call(kind: str, status: Any, payload: dict[str, Any]) -> ToolCall:
    output: str | None = None
    for key in _OUTPUT_KEYS:
        if isinstance(payload.get(key), str):
            output = payload[key]
            break
    arguments = {k: v for k, v in payload.items() if k not in _OUTPUT_KEYS}
    return ToolCall(name=kind, input=arguments, output=output, is_error=status == "error")


def parse_transcript(path: Path, provider: str) -> ParseOutcome:
    issues: list[ParseIssue] = []
    messages: list[ParsedMessage] = []
    cwd: str | None = None
    chunk = read_jsonl(path)
    if chunk.failed:
        return ParseOutcome(chats=[], issues=chunk.issues)
    for line, step in chunk.records:
        kind = step.get("type")
        if not isinstance(kind, str):
            issues.append(ParseIssue(str(path), "step without a type", line))
            continue
        payload = as_dict(step.get(kind))
        if kind == "user_input":
            text = payload.get("user_response")
            messages.append(ParsedMessage(role="user", content=text if isinstance(text, str) else ""))
        elif kind == "planner_response":
            text = payload.get("response")
            messages.append(
                ParsedMessage(
                    role="assistant",
                    content=text if isinstance(text, str) else "",
                    thinking=as_str(payload.get("thinking")),
                )
            )
        else:
            cwd = cwd or as_str(payload.get("cwd"))
            call = _tool_call(kind, step.get("status"), payload)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                last.tool_calls.append(call)
            else:
                messages.append(ParsedMessage(role="assistant", content="", tool_calls=[call]))
    issues = sorted([*chunk.issues, *issues], key=lambda issue: issue.line or 0)
    if not messages:
        return ParseOutcome(chats=[], issues=issues)
    try:
        modified: datetime | None = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        modified = None
    first_user = next((m.content for m in messages if m.role == "user" and m.content.strip()), None)
    chat = ParsedChat(
        provider=provider,
        source_id=path.stem,
        messages=messages,
        title=title_from(first_user),
        workspace_path=cwd,
        updated_at=modified,
        source_path=str(path),
    )
    return ParseOutcome(chats=[chat], issues=issues)


class WindsurfSource:
    name = "windsurf"
    display_name = "Windsurf"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        # The hooks write here on every platform (%USERPROFILE%\.windsurf on Windows).
        return [home / ".windsurf" / "transcripts"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for path in self._files(root):
                if str(path) not in seen:
                    seen.add(str(path))
                    yield SourceUnit(key=str(path), paths=[path])

    def _files(self, root: Path) -> Iterator[Path]:
        if is_file(root):
            if root.suffix == ".jsonl":
                yield root
            return
        folder = root / "transcripts" if is_dir(root / "transcripts") else root
        for path in list_dir(folder):
            if path.suffix == ".jsonl" and is_file(path):
                yield path

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        return parse_transcript(unit.paths[0], self.name)


source = WindsurfSource()

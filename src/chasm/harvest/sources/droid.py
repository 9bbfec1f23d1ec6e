"""Factory Droid: ~/.factory/sessions/<encoded-cwd>/<id>.jsonl plus <id>.settings.json (model,
reasoning effort, session token usage).

Lines: session_start (id, title, cwd), message (message.role user/assistant with Anthropic-style
content blocks: text, thinking, tool_use, tool_result), todo_state and others (skipped). Tool
results in user messages fold into the assistant's tool calls. The session's token usage exists
only as a total, in metadata["token_usage"]. Resumable (the engine parses the whole file again
when the settings side file changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_int, as_str
from chasm.harvest.sources.toolkit.jsonl import load_json, read_jsonl
from chasm.harvest.sources.toolkit.paths import walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex, tool_message


class DroidSource:
    name = "droid"
    display_name = "Factory Droid"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return [home / ".factory" / "sessions"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        for path in walk_files(roots, lambda p: p.suffix == ".jsonl"):
            paths = [path]
            side = path.with_name(path.stem + ".settings.json")
            if side.exists():
                paths.append(side)
            yield SourceUnit(key=str(path), paths=paths, resumable=True)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        state = dict(resume.state) if resume else {}
        chunk = read_jsonl(path, resume.offset if resume else 0, as_int(state.get("lines")) + 1)
        if chunk.failed:
            return ParseOutcome([], chunk.issues)
        settings: dict[str, Any] = {}
        side = unit.paths[1] if len(unit.paths) > 1 else path.with_name(path.stem + ".settings.json")
        if side.exists():
            data, issue = load_json(side)
            if issue is not None:
                chunk.issues.append(issue)
            elif isinstance(data, dict):
                settings = data
        chat, new_state = _build(path, chunk.records, settings, state)
        new_state["lines"] = chunk.end_line
        return ParseOutcome([chat] if chat else [], chunk.issues, Resume(chunk.end_offset, new_state))


def _build(
    path: Path, records: list[tuple[int, dict[str, Any]]], settings: dict[str, Any], state: dict[str, Any]
) -> tuple[ParsedChat | None, dict[str, Any]]:
    source_id = as_str(state.get("source_id"))
    cwd = as_str(state.get("cwd"))
    title = None
    model = as_str(settings.get("model"))
    messages: list[ParsedMessage] = []
    tools = ToolCallIndex()
    for _, rec in records:
        kind = rec.get("type")
        if kind == "session_start":
            source_id = source_id or as_str(rec.get("id"))
            cwd = as_str(rec.get("cwd")) or cwd
            title = (
                as_str(rec.get("sessionTitle"))
                if rec.get("sessionTitle") not in (None, "New Session")
                else None
            )
            title = title or as_str(rec.get("title"))
            continue
        if kind != "message" or not isinstance(rec.get("message"), dict):
            continue
        msg = rec["message"]
        role = msg.get("role")
        ts = to_utc(rec.get("timestamp"))
        blocks = read_blocks(msg.get("content"))
        for tool_id, output, is_error in blocks.results:
            if not tools.resolve(tool_id, output, is_error):
                messages.append(tool_message(tool_id, output, is_error, ts))
        if role == "assistant":
            for call in blocks.tool_calls:
                tools.add(call)
            if blocks.text or blocks.tool_calls or blocks.thinking:
                messages.append(
                    ParsedMessage(
                        role="assistant",
                        content=blocks.text,
                        timestamp=ts,
                        source_id=as_str(rec.get("id")),
                        model=model,
                        thinking="\n\n".join(blocks.thinking) or None,
                        tool_calls=list(blocks.tool_calls),
                    )
                )
        elif role in ("user", "system") and (blocks.text or blocks.images):
            extra = {"images": blocks.images} if blocks.images else {}
            messages.append(
                ParsedMessage(
                    role=str(role),
                    content=blocks.text,
                    timestamp=ts,
                    source_id=as_str(rec.get("id")),
                    metadata=extra,
                )
            )
    source_id = source_id or path.stem
    new_state = {"source_id": source_id, "cwd": cwd}
    if not messages and not title:
        return None, new_state
    meta: dict[str, Any] = {}
    for key, name in (
        ("reasoningEffort", "reasoning_effort"),
        ("autonomyMode", "autonomy_mode"),
        ("tokenUsage", "token_usage"),
    ):
        if settings.get(key) is not None:
            meta[name] = settings[key]
    first, last = time_bounds(messages)
    chat = ParsedChat(
        provider="droid",
        source_id=source_id,
        messages=messages,
        title=title,
        workspace_path=cwd,
        created_at=first,
        updated_at=last,
        model=model,
        source_path=str(path),
        metadata=meta,
    )
    return chat, new_state


source = DroidSource()

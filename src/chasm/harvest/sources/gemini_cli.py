"""Gemini CLI: ~/.gemini/tmp/<projectHash or slug>/chats/session-*.json, and since v0.40 the JSONL
variant session-*.jsonl (a metadata line, one line per message, {"$set": {...}} patch lines; a
message written again with the same id replaces the earlier one).

The project folder is known only when the project folder holds a `.project_root` file (newer
builds, slug folders); with the older sha256 folder names there is no workspace path.

Messages: type user → user, gemini/model → assistant, info/error/warning → system. toolCalls carry
args and result[].functionResponse.response; thoughts (subject, description) become thinking; tokens
{input, output, cached, thoughts} become usage (input excludes the cached part).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    SourceUnit,
    TokenUsage,
    ToolCall,
)
from chasm.harvest.sources.toolkit.coercion import as_int, as_list, as_str, text_of, to_json_text
from chasm.harvest.sources.toolkit.jsonl import load_json, read_jsonl
from chasm.harvest.sources.toolkit.paths import env_path, walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.usage import main_model

ROLE = {
    "user": "user",
    "gemini": "assistant",
    "model": "assistant",
    "info": "system",
    "error": "system",
    "warning": "system",
}


class GeminiCliSource:
    name = "gemini-cli"
    display_name = "Gemini CLI"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        base = env_path(env, "GEMINI_CLI_HOME") or home
        return [base / ".gemini" / "tmp"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        def match(path: Path) -> bool:
            return (
                path.parent.name == "chats"
                and path.suffix in (".json", ".jsonl")
                and path.name.startswith("session-")
            )

        for path in walk_files(roots, match):
            yield SourceUnit(key=str(path), paths=[path])

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        issues: list[ParseIssue] = []
        header: dict[str, Any] = {}
        raw: list[dict[str, Any]] = []
        if path.suffix == ".jsonl":
            chunk = read_jsonl(path)
            issues.extend(chunk.issues)
            if chunk.failed:
                return ParseOutcome([], issues)
            by_id: dict[str, int] = {}
            for _, rec in chunk.records:
                if isinstance(rec.get("$set"), dict):
                    header.update(rec["$set"])
                elif "type" in rec and ("content" in rec or "toolCalls" in rec or "parts" in rec):
                    mid = as_str(rec.get("id"))
                    if mid is not None and mid in by_id:
                        raw[by_id[mid]] = rec
                        continue
                    if mid is not None:
                        by_id[mid] = len(raw)
                    raw.append(rec)
                elif "sessionId" in rec:
                    header.update(rec)
        else:
            data, issue = load_json(path)
            if issue is not None:
                return ParseOutcome([], [issue])
            if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
                return ParseOutcome([], [ParseIssue(str(path), "not a Gemini CLI session (no messages)")])
            header = data
            raw = [m for m in data["messages"] if isinstance(m, dict)]
        messages = [m for m in (_message(r) for r in raw) if m is not None]
        if not messages:
            return ParseOutcome([], issues)
        first, last = time_bounds(messages)
        workspace = None
        marker = path.parent.parent / ".project_root"  # newer builds: <slug>/.project_root holds the path
        if path.parent.name == "chats" and marker.is_file():
            try:
                workspace = marker.read_text(encoding="utf-8", errors="replace").strip() or None
            except OSError:
                workspace = None
        meta: dict[str, Any] = {}
        for key, name in (("projectHash", "project_hash"), ("kind", "kind")):
            if as_str(header.get(key)):
                meta[name] = header[key]
        return ParseOutcome(
            [
                ParsedChat(
                    provider="gemini-cli",
                    source_id=as_str(header.get("sessionId")) or path.stem,
                    messages=messages,
                    title=as_str(header.get("summary")),
                    workspace_path=workspace,
                    created_at=to_utc(header.get("startTime")) or first,
                    updated_at=to_utc(header.get("lastUpdated")) or last,
                    model=main_model(messages),
                    source_path=str(path),
                    metadata=meta,
                )
            ],
            issues,
        )


def _message(rec: dict[str, Any]) -> ParsedMessage | None:
    role = ROLE.get(str(rec.get("type")))
    if role is None:
        return None
    content = rec.get("content") if "content" in rec else rec.get("parts")
    text = text_of(content)
    calls: list[ToolCall] = []
    for tc in as_list(rec.get("toolCalls")):
        if not isinstance(tc, dict):
            continue
        output = _tool_output(tc.get("result"))
        if output is None and tc.get("resultDisplay") is not None:
            output = text_of(tc.get("resultDisplay")) or to_json_text(tc.get("resultDisplay"))
        calls.append(
            ToolCall(
                name=str(tc.get("name") or "tool"),
                id=as_str(tc.get("id")),
                input=tc.get("args"),
                output=output,
                is_error=str(tc.get("status") or "").lower() in ("error", "cancelled"),
            )
        )
    thoughts = []
    for t in as_list(rec.get("thoughts")):
        if isinstance(t, dict):
            subject, desc = as_str(t.get("subject")), as_str(t.get("description"))
            thoughts.append(f"**{subject}**\n{desc}" if subject and desc else (subject or desc or ""))
    thinking = "\n\n".join(t for t in thoughts if t) or None
    if role == "user" and not text:
        return None
    if role == "assistant" and not (text or calls or thinking):
        return None
    usage = None
    tokens = rec.get("tokens")
    if isinstance(tokens, dict):
        cached = as_int(tokens.get("cached"))
        usage = TokenUsage(
            input_tokens=max(as_int(tokens.get("input")) - cached, 0),
            output_tokens=as_int(tokens.get("output")),
            cache_read_tokens=cached,
            reasoning_tokens=as_int(tokens.get("thoughts")),
        )
    meta: dict[str, Any] = {}
    if role == "system":
        meta["kind"] = rec.get("type")
    return ParsedMessage(
        role=role,
        content=text,
        timestamp=to_utc(rec.get("timestamp")),
        source_id=as_str(rec.get("id")),
        model=as_str(rec.get("model")),
        thinking=thinking,
        tool_calls=calls,
        usage=usage,
        metadata=meta,
    )


def _tool_output(result: Any) -> str | None:
    if not isinstance(result, list) or not result:
        return None
    parts: list[str] = []
    for item in result:
        if not isinstance(item, dict):
            continue
        fr = item.get("functionResponse")
        response = fr.get("response") if isinstance(fr, dict) else item
        if isinstance(response, dict):
            value = response.get("output", response.get("error", response))
            parts.append(value if isinstance(value, str) else to_json_text(value))
        elif response is not None:
            parts.append(to_json_text(response))
    return "\n".join(parts) if parts else None


source = GeminiCliSource()

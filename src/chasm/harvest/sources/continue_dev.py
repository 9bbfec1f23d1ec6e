"""Continue (IDE extension and CLI share the store): `~/.continue/sessions/<sessionId>.json`, with
the index `sessions.json` (times). `$CONTINUE_GLOBAL_DIR` moves the `.continue` folder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
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
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import (
    as_dict,
    as_int,
    as_list,
    as_str,
    output_text,
    parse_arguments,
)
from chasm.harvest.sources.toolkit.jsonl import read_json
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex
from chasm.harvest.sources.toolkit.usage import usage_or_none
from chasm.harvest.sources.toolkit.vscode_storage import file_uri_to_path

_INDEX = "sessions.json"


@lru_cache(maxsize=8)
def _index(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[str, Any]]:
    """sessionId → index entry; cached per file version so that parsing every session of a big
    folder reads the index once."""
    issues: list[ParseIssue] = []
    entries = read_json(Path(path), issues)
    return {
        str(e["sessionId"]): e
        for e in as_list(entries)
        if isinstance(e, dict) and isinstance(e.get("sessionId"), str)
    }


def _index_entry(folder: Path, session_id: str) -> dict[str, Any]:
    path = folder / _INDEX
    try:
        stat = path.stat()
    except OSError:
        return {}
    return _index(str(path), stat.st_mtime_ns, stat.st_size).get(session_id, {})


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n\n".join(t for t in read_blocks(content).texts if t)


def _tool_states(item: dict[str, Any]) -> dict[str, tuple[str | None, bool]]:
    states: dict[str, tuple[str | None, bool]] = {}
    for state in as_list(item.get("toolCallStates")) + (
        [item["toolCallState"]] if "toolCallState" in item else []
    ):
        state = as_dict(state)
        call_id = as_str(state.get("toolCallId"))
        if not call_id:
            continue
        output = state.get("output")
        text = output_text(output) if output else None
        states[call_id] = (text, state.get("status") in ("errored", "error", "canceled"))
    return states


def parse_session(path: Path, data: dict[str, Any], provider: str) -> ParsedChat:
    messages: list[ParsedMessage] = []
    tools = ToolCallIndex()
    thinking: list[str] = []
    models: list[str] = []
    for item in as_list(data.get("history")):
        item = as_dict(item)
        message = as_dict(item.get("message"))
        role = message.get("role")
        content = message.get("content")
        if role == "thinking":
            text = _text(content)
            if text:
                thinking.append(text)
            continue
        if role == "tool":
            output = _text(content)
            if tools.resolve(as_str(message.get("toolCallId")), output) is None:
                messages.append(ParsedMessage(role="tool", content=output))
            continue
        if role == "user":
            metadata: dict[str, Any] = {}
            context = [
                str(as_dict(c).get("name"))
                for c in as_list(item.get("contextItems"))
                if as_dict(c).get("name")
            ]
            if context:
                metadata["context"] = context
            messages.append(
                ParsedMessage(
                    role="user",
                    content=_text(content),
                    source_id=as_str(message.get("id")),
                    metadata=metadata,
                )
            )
            continue
        if role != "assistant":
            continue
        states = _tool_states(item)
        calls: list[ToolCall] = []
        for raw in as_list(message.get("toolCalls")):
            raw = as_dict(raw)
            function = as_dict(raw.get("function"))
            call_id = as_str(raw.get("id"))
            result: tuple[str | None, bool] = states.get(call_id or "", (None, False))
            call_output, is_error = result
            call = ToolCall(
                name=as_str(function.get("name")) or "tool",
                id=call_id,
                input=parse_arguments(function.get("arguments")),
                output=call_output,
                is_error=is_error,
            )
            calls.append(call)
            if call_output is None:
                tools.add(call)
        logs = [as_dict(p) for p in as_list(item.get("promptLogs"))]
        model = next((str(p["modelTitle"]) for p in logs if isinstance(p.get("modelTitle"), str)), None)
        if model:
            models.append(model)
        usage = as_dict(message.get("usage"))
        messages.append(
            ParsedMessage(
                role="assistant",
                content=_text(content),
                source_id=as_str(message.get("id")),
                model=model,
                thinking="\n\n".join(thinking) or None,
                tool_calls=calls,
                usage=usage_or_none(
                    TokenUsage(
                        input_tokens=as_int(usage.get("promptTokens")),
                        output_tokens=as_int(usage.get("completionTokens")),
                    )
                ),
            )
        )
        thinking = []
    session_id = as_str(data.get("sessionId")) or path.stem
    entry = _index_entry(path.parent, session_id)
    workspace = as_str(data.get("workspaceDirectory")) or as_str(entry.get("workspaceDirectory"))
    chat_metadata: dict[str, Any] = {}
    usage = as_dict(data.get("usage"))
    if usage:
        details = as_dict(usage.get("promptTokensDetails"))
        chat_metadata["usage"] = {
            "input_tokens": as_int(usage.get("promptTokens")),
            "output_tokens": as_int(usage.get("completionTokens")),
            "cache_read_tokens": as_int(details.get("cachedTokens")),
            "cache_write_tokens": as_int(details.get("cacheWriteTokens")),
        }
        if "totalCost" in usage:
            chat_metadata["cost"] = usage["totalCost"]
    if isinstance(data.get("mode"), str):
        chat_metadata["mode"] = data["mode"]
    first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
    try:
        modified: datetime | None = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        modified = None
    return ParsedChat(
        provider=provider,
        source_id=session_id,
        messages=messages,
        title=as_str(data.get("title")) or as_str(entry.get("title")) or title_from(first_user),
        workspace_path=file_uri_to_path(workspace) if workspace else None,
        created_at=to_utc(entry.get("dateCreated")),
        updated_at=modified,
        model=as_str(data.get("chatModelTitle")) or (models[-1] if models else None),
        source_path=str(path),
        metadata=chat_metadata,
    )


class ContinueSource:
    name = "continue"
    display_name = "Continue"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        base = env.get("CONTINUE_GLOBAL_DIR")
        return [(Path(base) if base else home / ".continue") / "sessions"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for path in self._files(root):
                if str(path) not in seen:
                    seen.add(str(path))
                    yield SourceUnit(key=str(path), paths=[path])

    def _files(self, root: Path) -> Iterator[Path]:
        if is_file(root):
            if root.suffix == ".json" and root.name != _INDEX:
                yield root
            return
        folder = root / "sessions" if is_dir(root / "sessions") else root
        for path in list_dir(folder):
            if path.suffix == ".json" and path.name != _INDEX and is_file(path):
                yield path

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        issues: list[ParseIssue] = []
        data = read_json(path, issues)
        if data is None:
            return ParseOutcome(chats=[], issues=issues)
        if not isinstance(data, dict) or not isinstance(data.get("history"), list):
            return ParseOutcome(chats=[], issues=[ParseIssue(str(path), "not a Continue session")])
        return ParseOutcome(chats=[parse_session(path, data, self.name)], issues=issues)


source = ContinueSource()

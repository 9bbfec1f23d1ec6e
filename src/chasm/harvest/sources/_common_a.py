"""Shared helpers of the harvest sources in set A (Claude Code, Codex, Gemini CLI, Aider, ChatGPT and
claude.ai exports, Amp, Droid): JSONL reading from a byte offset, JSON files, timestamps, text
extraction and Anthropic-style content blocks. Pure functions; nothing here raises for bad content.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from chasm.harvest.model import ParsedMessage, ParseIssue, TokenUsage, ToolCall

HEAD_BYTES = 4096

# --- files -----------------------------------------------------------------------------------


@dataclass
class JsonlChunk:
    """The records of a JSONL file from some byte offset on."""

    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line number, record)
    issues: list[ParseIssue] = field(default_factory=list)
    end_offset: int = 0  # byte offset after the last complete line
    end_line: int = 0  # number of the last line read (1-based; 0 when none)
    failed: bool = False  # the file could not be read at all


def read_jsonl(path: Path, offset: int = 0, first_line: int = 1) -> JsonlChunk:
    """Read every JSON object line from `offset`. A line that is not JSON (or not an object) becomes
    an issue with its line number. A last line without a newline that does not parse is taken for a
    write in progress: it is left for next time, without an issue."""
    chunk = JsonlChunk(end_offset=offset, end_line=first_line - 1)
    try:
        with open(path, "rb") as f:
            if offset:
                f.seek(offset)
            data = f.read()
    except OSError as exc:
        chunk.issues.append(ParseIssue(str(path), f"cannot read: {exc}"))
        chunk.failed = True
        return chunk
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    records = chunk.records
    view = memoryview(data)  # slices of a view are not copies
    pos = 0
    size = len(data)
    line_no = first_line - 1
    find = data.find
    while pos < size:
        nl = find(b"\n", pos)
        complete = nl != -1
        end = nl if complete else size
        line_no += 1
        try:
            obj = loads(view[pos:end])
        except decode_error as exc:
            if data[pos:end].strip():
                if not complete:
                    line_no -= 1
                    break  # partial last line: read it next time
                chunk.issues.append(ParseIssue(str(path), f"invalid JSON: {exc}", line_no))
        else:
            if type(obj) is dict:
                records.append((line_no, obj))
            else:
                chunk.issues.append(ParseIssue(str(path), "record is not a JSON object", line_no))
        pos = end + 1 if complete else size
    chunk.end_offset = offset + pos
    chunk.end_line = line_no
    return chunk


def load_json(path: Path) -> tuple[Any, ParseIssue | None]:
    """A whole JSON file, or an issue."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, ParseIssue(str(path), f"cannot read: {exc}")
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        return None, ParseIssue(str(path), f"invalid JSON: {exc}")


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def walk_files(roots: Iterable[Path], match: Any) -> Iterator[Path]:
    """Every file under the roots (a root may itself be a file) for which `match(path)` is true,
    each once, in a stable order."""
    seen: set[str] = set()
    for root in roots:
        try:
            root = Path(root)
            if root.is_file():
                candidates: Iterable[Path] = [root]
            elif root.is_dir():
                candidates = _walk(root)
            else:
                continue
        except OSError:
            continue
        for path in candidates:
            key = str(path)
            if key in seen:
                continue
            try:
                if match(path):
                    seen.add(key)
                    yield path
            except OSError:
                continue


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath, name)


def env_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value).expanduser() if value else None


# --- values ----------------------------------------------------------------------------------


def parse_ts(value: Any) -> datetime | None:
    """An ISO-8601 string (with Z or an offset; naive means UTC) or epoch seconds / milliseconds, as an
    aware UTC datetime; None for anything else."""
    if value.__class__ is str:  # the common case first: one call per record
        try:
            parsed = _fromisoformat(value)  # 3.11 reads "...Z" too
        except ValueError:
            return _parse_ts_text(value)
        tz = parsed.tzinfo
        if tz is UTC:
            return parsed
        return parsed.replace(tzinfo=UTC) if tz is None else parsed.astimezone(UTC)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):  # a str subclass
        return parse_ts(str(value))
    return None


_fromisoformat = datetime.fromisoformat


def _parse_ts_text(value: str) -> datetime | None:
    """A string that is not ISO-8601: epoch seconds / milliseconds as text, or nothing."""
    text = value.strip()
    if not text or not text[0].isdigit():
        return None
    try:
        return parse_ts(float(text))
    except ValueError:
        return None


def as_int(value: Any) -> int:
    if value.__class__ is int:
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return 0
    return 0


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_key(value: Any) -> str | None:
    """A value usable as a node id (a string; anything else is no id)."""
    return value if isinstance(value, str) else None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def text_of(value: Any) -> str:
    """The text in a string, a list of parts/blocks, or a block dict ({"text"}, {"content"})."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [text_of(v) for v in value]
        return "\n".join(p for p in parts if p)
    if isinstance(value, dict):
        for key in ("text", "content", "output", "value"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
            if isinstance(inner, list | dict):
                return text_of(inner)
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def to_json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def parse_arguments(value: Any) -> Any:
    """Tool arguments: a JSON string becomes its value; anything else is kept as is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return value
    return value


def main_model(messages: Iterable[ParsedMessage]) -> str | None:
    """The model that answered most often (ignoring placeholders such as "<synthetic>")."""
    counts = Counter(m.model for m in messages if m.model and not m.model.startswith("<"))
    return counts.most_common(1)[0][0] if counts else None


def time_bounds(messages: Iterable[ParsedMessage]) -> tuple[datetime | None, datetime | None]:
    first = last = None
    for m in messages:
        ts = m.timestamp
        if ts is None:
            continue
        if first is None or ts < first:
            first = ts
        if last is None or ts > last:
            last = ts
    return first, last


# --- Anthropic-style content blocks (Claude Code, Droid, Amp, claude.ai) -------------------------


@dataclass
class Blocks:
    """What a list of content blocks holds."""

    texts: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    results: list[tuple[str | None, str, bool]] = field(default_factory=list)  # (tool_use_id, output, error)
    images: int = 0
    text: str = ""  # the texts joined (read_blocks sets it)


def read_blocks(content: Any) -> Blocks:
    texts: list[str] = []
    out = Blocks(texts, [], [], [])
    if isinstance(content, str):
        texts.append(content)
        out.text = content
        return out
    if not isinstance(content, list):
        return out
    for block in content:
        if not isinstance(block, dict):
            if isinstance(block, str):
                texts.append(block)
            continue
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip():
                texts.append(text)
        elif kind == "thinking":
            thought = block.get("thinking")
            if isinstance(thought, str) and thought:
                out.thinking.append(thought)
        elif kind in ("tool_use", "server_tool_use"):
            out.tool_calls.append(
                ToolCall(
                    name=str(block.get("name") or "tool"),
                    id=as_str(block.get("id")),
                    input=block.get("input"),
                )
            )
        elif kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
            tool_id = as_str(block.get("tool_use_id")) or as_str(block.get("toolUseID"))
            body = block.get("content")
            if body is None and "run" in block:
                body = _amp_run_output(block.get("run"))
            out.results.append(
                (tool_id, text_of(body) if not isinstance(body, str) else body, bool(block.get("is_error")))
            )
        elif kind == "image":
            out.images += 1
    if texts:
        out.text = texts[0] if len(texts) == 1 else "\n\n".join(t for t in texts if t)
    return out


def _amp_run_output(run: Any) -> str:
    if not isinstance(run, dict):
        return ""
    result = run.get("result")
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for key in ("output", "content", "text"):
            if isinstance(result.get(key), str):
                return str(result[key])
        return to_json_text(result)
    if result is not None:
        return to_json_text(result)
    error = run.get("error")
    return text_of(error) if error else ""


class ToolMatcher:
    """Pairs tool results with the calls made before them (by id; a result without an id goes to the
    oldest call still waiting)."""

    def __init__(self) -> None:
        self.by_id: dict[str, ToolCall] = {}
        self.waiting: list[ToolCall] = []

    def add(self, call: ToolCall) -> None:
        if call.id:
            self.by_id[call.id] = call
        self.waiting.append(call)

    def resolve(self, tool_id: str | None, output: str, is_error: bool) -> bool:
        call = self.by_id.get(tool_id) if tool_id else None
        if call is None and tool_id is None:
            call = next((c for c in self.waiting if c.output is None), None)
        if call is None:
            return False
        call.output = output
        call.is_error = call.is_error or is_error
        if call in self.waiting:
            self.waiting.remove(call)
        return True


def usage_from_anthropic(usage: Any) -> TokenUsage | None:
    if not isinstance(usage, dict):
        return None
    return TokenUsage(
        _usage_field(usage, "input_tokens", "inputTokens"),
        _usage_field(usage, "output_tokens", "outputTokens"),
        _usage_field(usage, "cache_read_input_tokens", "cacheReadInputTokens"),
        _usage_field(usage, "cache_creation_input_tokens", "cacheCreationInputTokens"),
    )


def _usage_field(usage: dict[str, Any], key: str, alias: str) -> int:
    """`usage[key]` when the key is there (whatever its value), else `usage[alias]`, as an int."""
    value = usage[key] if key in usage else usage.get(alias)
    return value if value.__class__ is int else as_int(value)  # type: ignore[no-any-return]


def max_usage(a: TokenUsage | None, b: TokenUsage | None) -> TokenUsage | None:
    """Usage of one API message seen twice (split records): the larger figure of each field."""
    if a is None or b is None:
        return a or b
    return TokenUsage(
        input_tokens=max(a.input_tokens, b.input_tokens),
        output_tokens=max(a.output_tokens, b.output_tokens),
        cache_read_tokens=max(a.cache_read_tokens, b.cache_read_tokens),
        cache_write_tokens=max(a.cache_write_tokens, b.cache_write_tokens),
        reasoning_tokens=max(a.reasoning_tokens, b.reasoning_tokens),
    )


def tool_message(
    tool_id: str | None, output: str, is_error: bool, timestamp: datetime | None
) -> ParsedMessage:
    """A tool result whose call is not in this parse (for example it came before a resume offset)."""
    meta: dict[str, Any] = {"tool_use_id": tool_id}
    if is_error:
        meta["is_error"] = True
    return ParsedMessage(role="tool", content=output, timestamp=timestamp, metadata=meta)

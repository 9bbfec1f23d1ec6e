"""JSON and JSONL files: orjson first, the standard parser only for what orjson refuses (NaN,
huge integers). Nothing here raises for a file that is missing or not JSON: that becomes an issue."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chasm.harvest.model import ParseIssue

HEAD_BYTES = 4096


def loads(data: bytes | str) -> Any:
    """JSON text as a value. Raises ValueError for text that is not JSON."""
    if not isinstance(data, bytes | str):
        raise ValueError(f"expected JSON text, got {type(data).__name__}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


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
    an issue with its line number; blank lines are skipped. A last line without a newline that does
    not parse is taken for a write in progress: it is left for next time, without an issue."""
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
    orjson_loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    records = chunk.records
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
            obj = orjson_loads(data[pos:end])  # a bytes slice: faster in orjson than a memoryview
        except decode_error as exc:
            obj = _standard_json(data[pos:end])
            if obj is _NOT_JSON:
                if data[pos:end].strip():
                    if not complete:
                        line_no -= 1
                        break  # partial last line: read it next time
                    chunk.issues.append(ParseIssue(str(path), f"invalid JSON: {exc}", line_no))
                pos = end + 1 if complete else size
                continue
        if type(obj) is dict:
            records.append((line_no, obj))
        else:
            chunk.issues.append(ParseIssue(str(path), "record is not a JSON object", line_no))
        pos = end + 1 if complete else size
    chunk.end_offset = offset + pos
    chunk.end_line = line_no
    return chunk


_NOT_JSON = object()


def _standard_json(line: bytes) -> Any:
    """A line orjson refused, through the standard parser (NaN, huge integers); `_NOT_JSON` when it
    is not JSON either."""
    if not line.strip():
        return _NOT_JSON
    try:
        return json.loads(line)
    except ValueError:
        return _NOT_JSON


def load_json(path: Path) -> tuple[Any, ParseIssue | None]:
    """A whole JSON file, or an issue."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, ParseIssue(str(path), f"cannot read: {exc}")
    try:
        return loads(data), None
    except ValueError as exc:
        return None, ParseIssue(str(path), f"invalid JSON: {exc}")


def read_json(path: Path, issues: list[ParseIssue]) -> Any:
    """`load_json` for callers that collect issues: the value, or None with the issue added."""
    value, issue = load_json(path)
    if issue is not None:
        issues.append(issue)
    return value


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first bytes of a file (b"" when unreadable): enough to tell what it is."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""

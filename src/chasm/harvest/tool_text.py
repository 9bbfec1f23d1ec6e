"""The searchable text of a message's tool calls: each tool's name, its meaningful arguments (file
paths, commands, URLs, patterns: short string values; never file bodies or edit texts) and a bounded
excerpt of its result. Stored in `chat_messages.tool_text`, indexed beside the prose and ranked
below it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ARG_CHARS = 300  # per argument value
RESULT_CHARS = 400  # per result
TOTAL_CHARS = 4000  # per message
# Arguments that carry bodies (what was written, replaced or patched), not what was touched.
BODY_KEYS = frozenset(
    {
        "content",
        "contents",
        "new_string",
        "old_string",
        "new_str",
        "old_str",
        "text",
        "file_text",
        "edits",
        "new_source",
        "code",
        "body",
        "data",
        "diff",
        "insert_text",
        "replacement",
    }
)
PATCH_HEADER = "*** "  # apply_patch inputs: "*** Update File: path" lines name the files


def _argument_texts(value: Any, out: list[str], depth: int = 0) -> None:
    if isinstance(value, str):
        if value:
            out.append(value[:ARG_CHARS])
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    elif isinstance(value, dict) and depth < 2:
        for key, item in value.items():
            if str(key) not in BODY_KEYS:
                _argument_texts(item, out, depth + 1)
    elif isinstance(value, (list, tuple)) and depth < 2:
        words = [v for v in value if isinstance(v, str)]
        if words and len(words) == len(value):
            out.append(" ".join(words)[:ARG_CHARS])  # an argv
        else:
            for item in value[:20]:
                _argument_texts(item, out, depth + 1)


def _input_texts(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, str):
        headers = [line[len(PATCH_HEADER) :] for line in value.splitlines() if line.startswith(PATCH_HEADER)]
        out.append(" ".join(headers)[:ARG_CHARS] if headers else value[:ARG_CHARS])
    else:
        _argument_texts(value, out)
    return out


def tool_text(calls: Iterable[Any]) -> str | None:
    """The text indexed for `calls` (`ToolCall`s or their stored dicts), or None when there is none."""
    parts: list[str] = []
    for call in calls:
        if isinstance(call, dict):
            name, value, output = call.get("name"), call.get("input"), call.get("output")
        else:
            name, value, output = call.name, call.input, call.output
        if isinstance(name, str) and name:
            parts.append(name)
        parts.extend(_input_texts(value))
        if isinstance(output, str) and output.strip():
            parts.append(output.strip()[:RESULT_CHARS])
    if not parts:
        return None
    text = "\n".join(parts)
    return text[:TOTAL_CHARS].replace("\x00", "")

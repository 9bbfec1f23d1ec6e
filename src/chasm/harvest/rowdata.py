"""The rows of a parsed chat, without the database: `message_rows` turns parsed messages into
`chat_messages` rows (tuples in `MESSAGE_COLUMNS` order) and sums what the chat row keeps of them;
`chat_values` and `chat_totals` are a parsed chat's columns of `chats`.

Nothing here imports SQLAlchemy or the models: the harvest's parser processes build rows with it
(`prepare`) and start in a fraction of the time the models take to import.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from chasm.harvest.model import ParsedChat, ParsedMessage
from chasm.harvest.sources.toolkit.titles import fallback_title
from chasm.harvest.tool_text import tool_text
from chasm.kit.timeutil import utcnow

MESSAGE_COLUMNS = (
    "id",
    "chat_id",
    "seq",
    "role",
    "content",
    "thinking",
    "tool_calls",
    "tool_text",
    "model",
    "source_id",
    "parent_source_id",
    "content_hash",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "created_at",
    "metadata",
)
_NUL_ESCAPED = b"\\u0000"


def content_hash(role: str, content: str, timestamp: datetime | None) -> str:
    stamp = timestamp.isoformat() if timestamp is not None else ""
    return hashlib.sha256(f"{role}\x00{content}\x00{stamp}".encode("utf-8", "surrogatepass")).hexdigest()


def clean(value: Any) -> Any:
    """PostgreSQL refuses NUL characters in text and JSON; tools do write them."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def cut(value: str | None, length: int) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:length]


def aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def json_text(value: Any) -> str:
    """JSON text of a value without NUL characters (the JSON serializer of the harvest's SQLite
    engine). orjson first; the rare value it refuses (keys that are not strings, huge integers,
    lone surrogates) goes through the standard library, which raises for what JSON cannot hold."""
    try:
        data = orjson.dumps(value)
    except TypeError:
        return json.dumps(clean(value))
    if _NUL_ESCAPED in data:  # a NUL (or a backslash before "u0000": cleaning it is harmless)
        try:
            data = orjson.dumps(clean(value))
        except TypeError:
            return json.dumps(clean(value))
    return data.decode()


@dataclass
class MessageRows:
    rows: list[tuple[Any, ...]]
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tool_calls: int = 0
    first: datetime | None = None
    last: datetime | None = None
    model: str | None = None


def message_rows(
    chat_id: uuid.UUID,
    messages: Iterable[ParsedMessage],
    start_seq: int,
    seen_hashes: set[str],
    *,
    clean_json: bool = True,
) -> MessageRows:
    """Rows for `chat_messages` (in `MESSAGE_COLUMNS` order); records without an id whose hash is in
    `seen_hashes` are dropped. With `clean_json` False the JSON columns keep their values as parsed
    (the writer's serializer removes NUL characters)."""
    out = MessageRows([])
    rows = out.rows
    seq = start_seq
    if not isinstance(messages, Sequence):
        messages = list(messages)
    # Row ids: what uuid4() makes, from one urandom call for all rows (not one system call per row,
    # each of which lets the parse thread take the GIL).
    random = os.urandom(16 * len(messages))
    new_id = uuid.UUID
    index = 0
    input_tokens = output_tokens = cache_read = cache_write = tool_calls = 0
    first = last = None
    for m in messages:
        ts = m.timestamp
        if ts is not None and ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        role = m.role[:20] if m.role else "assistant"
        text = m.content or ""
        if "\x00" in text:
            text = text.replace("\x00", "")
        digest = content_hash(role, text, ts)
        if m.source_id is None:
            if digest in seen_hashes:
                continue
            seen_hashes.add(digest)
        usage = m.usage
        meta: dict[str, Any] | None = m.metadata or None
        if usage is not None and usage.reasoning_tokens:
            meta = {**(meta or {}), "reasoning_tokens": usage.reasoning_tokens}
        if meta is not None and clean_json:
            meta = clean(meta)
        calls: list[dict[str, Any]] | None = None
        searchable: str | None = None
        if m.tool_calls:
            searchable = tool_text(m.tool_calls)
            calls = [
                {"id": c.id, "name": c.name, "input": c.input, "output": c.output, "is_error": c.is_error}
                for c in m.tool_calls
            ]
            tool_calls += len(calls)
            if clean_json:
                calls = clean(calls)
        thinking = m.thinking or None
        if thinking is not None and "\x00" in thinking:
            thinking = thinking.replace("\x00", "")
        if usage is not None:
            tokens = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens,
                usage.cache_write_tokens,
            )
            input_tokens += tokens[0]
            output_tokens += tokens[1]
            cache_read += tokens[2]
            cache_write += tokens[3]
        else:
            tokens = (0, 0, 0, 0)
        model = m.model
        rows.append(
            (
                new_id(bytes=random[index : index + 16], version=4),
                chat_id,
                seq,
                role,
                text,
                thinking,
                calls,
                searchable,
                cut(model, 200),
                cut(m.source_id, 300),
                cut(m.parent_source_id, 300),
                digest,
                *tokens,
                ts,
                meta,
            )
        )
        seq += 1
        index += 16
        if ts is not None:
            if first is None or ts < first:
                first = ts
            if last is None or ts > last:
                last = ts
        if model and role == "assistant":
            out.model = model
    out.input_tokens, out.output_tokens = input_tokens, output_tokens
    out.cache_read_tokens, out.cache_write_tokens = cache_read, cache_write
    out.tool_calls, out.first, out.last = tool_calls, first, last
    return out


def workspace_key(chat: ParsedChat) -> tuple[str, str] | None:
    """(path, display name) of the chat's workspace, or None when the source knows none."""
    if chat.workspace_path:
        path = chat.workspace_path.rstrip("/\\") or chat.workspace_path
        name = path.replace("\\", "/").rsplit("/", 1)[-1] or path
        return path, chat.workspace_name or name
    if chat.workspace_name:
        return chat.workspace_name, chat.workspace_name
    return None


def chat_values(parsed: ParsedChat, workspace_id: uuid.UUID | None) -> dict[str, Any]:
    """The columns of a chat a harvest sets from the source (title and metadata only when known). A
    chat whose tool records no title is titled by its first real prompt."""
    values: dict[str, Any] = {
        "workspace_id": workspace_id,
        "source_path": cut(parsed.source_path, 2000),
        "source_missing": False,
        "parent_source_id": cut(parsed.parent_source_id, 300),
    }
    title = parsed.title or fallback_title(parsed.messages)
    if title:
        values["title"] = cut(title, 1000)
    if parsed.metadata:
        values["metadata"] = clean(parsed.metadata)
    return values


def chat_totals(parsed: ParsedChat, rows: MessageRows) -> dict[str, Any]:
    """The columns of a chat summed up from all its messages."""
    return {
        "message_count": len(rows.rows),
        "input_tokens": rows.input_tokens,
        "output_tokens": rows.output_tokens,
        "cache_read_tokens": rows.cache_read_tokens,
        "cache_write_tokens": rows.cache_write_tokens,
        "tool_call_count": rows.tool_calls,
        "started_at": aware(parsed.created_at) or rows.first,
        "updated_at": aware(parsed.updated_at) or rows.last or utcnow(),
        "model": cut(parsed.model or rows.model, 200),
    }

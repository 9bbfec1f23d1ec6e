"""Recording events as data: what an event must be to be stored, and the chat message it makes.
No database here; `service` stores what these functions shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from chasm.harvest.rows import clean, content_hash
from chasm.harvest.sources.toolkit.titles import is_prompt, title_from, wrapper_kind
from chasm.harvest.tool_text import tool_text
from chasm.kit.errors import BadRequest, ChasmError
from chasm.models import Chat
from chasm.recording.schemas import MAX_EVENT_BYTES, RecordingEventIn, SnapshotMessage

DEFAULT_CLIENT = "recording"
ROLES = ("user", "assistant", "system", "tool")
USAGE_KEYS = {
    "input_tokens": ("input_tokens", "prompt_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "cache_read_tokens": ("cache_read_tokens", "cache_read_input_tokens"),
    "cache_write_tokens": ("cache_write_tokens", "cache_creation_input_tokens"),
}


def refuse(index: int, event: RecordingEventIn, error: ChasmError) -> ChasmError:
    error.details = {"index": index, "session_id": event.session_id, "event_id": event.event_id}
    return error


def checked_data(event: RecordingEventIn) -> tuple[dict[str, Any], str]:
    """The event's data as it is stored, and its JSON: serialized once, which measures it too.
    NUL characters go (PostgreSQL refuses them; in JSON they are always the escape \\u0000, so the
    text tells whether there are any). Refuses what cannot be stored whole: text that is not
    UTF-8 (lone surrogates), oversize. orjson serializes (several times faster than json, on the
    path of every recorded event); what it does not take (integers beyond 64 bits) goes to json."""
    data = event.data
    try:
        raw = _dumps(data)
        if b"\\u0000" in raw:
            data = clean(data)
            raw = _dumps(data)
        for name in (event.session_id, event.event_type, event.event_id or ""):
            name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("The event holds text that is not valid UTF-8", code="invalid_utf8") from None
    if len(raw) > MAX_EVENT_BYTES:
        raise ChasmError(
            f"The event's data is {len(raw)} bytes; at most {MAX_EVENT_BYTES} are accepted",
            status_code=413,
            code="event_too_large",
        )
    return data, raw.decode("utf-8")


def _dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        # A lone surrogate: json says so as UnicodeEncodeError (refused above); anything else
        # orjson refuses (an integer beyond 64 bits) json writes.
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: their text
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in value]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
    return json.dumps(value, ensure_ascii=False)


def usage_of(data: dict[str, Any]) -> dict[str, int]:
    """The usage counts of a message (0 for those not given); plain loops, no generator per key:
    this runs for every recorded message."""
    usage = data.get("usage")
    out = dict.fromkeys(USAGE_KEYS, 0)
    if not isinstance(usage, dict) or not usage:
        return out
    for key, names in USAGE_KEYS.items():
        for name in names:
            value = usage.get(name)
            if isinstance(value, int):
                out[key] = max(0, int(value))
                break
    return out


_MESSAGE_KEYS = frozenset(("role", "content", "model", "usage", "tool_calls"))


def message_fields(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The chat message an event makes (None: it makes none). `data` as `checked_data` returns it
    (without NUL characters)."""
    if event_type == "message":
        role = data.get("role")
        if role not in ROLES:
            raise BadRequest(f"A message event needs a role, one of {', '.join(ROLES)}", code="invalid_event")
        fields: dict[str, Any] = {"role": role, "content": text_of(data.get("content"))}
        calls = data.get("tool_calls")
        fields["tool_calls"] = calls if isinstance(calls, list) and calls else None
        fields["thinking"] = data.get("thinking") if isinstance(data.get("thinking"), str) else None
    elif event_type == "tool_call":
        name = data.get("name") or data.get("tool")
        if not isinstance(name, str) or not name:
            raise BadRequest("A tool_call event needs the tool's name", code="invalid_event")
        call = {"id": data.get("id") or data.get("call_id"), "name": name}
        call["input"] = data.get("input", data.get("arguments"))
        fields = {"role": "assistant", "content": text_of(data.get("content")), "tool_calls": [call]}
        fields["thinking"] = None
    elif event_type == "tool_result":
        output = data.get("output", data.get("content", data.get("result")))
        fields = {"role": "tool", "content": text_of(output), "tool_calls": None, "thinking": None}
    else:
        return None
    model = data.get("model")
    fields["model"] = model[:200] if isinstance(model, str) else None
    fields.update(usage_of(data))
    if data.keys() <= _MESSAGE_KEYS:  # most messages: nothing beyond the message's own keys
        fields["metadata"] = None
    else:
        fields["metadata"] = {k: v for k, v in data.items() if k not in _MESSAGE_KEYS} or None
    return fields


def message_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` as the message row stores them. As a harvest does: a user message that is a wrapper
    the tool injected (command output, reminders, environment context) is a system message naming
    its kind. With the content's hash and the tool calls' searchable text."""
    if fields["role"] == "user" and (kind := wrapper_kind(fields["content"])):
        fields["role"] = "system"
        fields["metadata"] = {**(fields["metadata"] or {}), "meta": kind}
    fields["content"] = fields["content"].replace("\x00", "")
    fields["content_hash"] = content_hash(fields["role"], fields["content"], None)
    fields["tool_text"] = tool_text(fields.get("tool_calls") or ())
    return fields


def take_title(chat: Chat, columns: dict[str, Any]) -> None:
    """A chat without a title takes its first real prompt (a `title` event or a user's edit
    replaces it later)."""
    if (
        not chat.title
        and not chat.title_edited
        and is_prompt(columns["role"], columns["content"], columns["metadata"])
    ):
        chat.title = title_from(columns["content"])


@dataclass(slots=True)
class Shaped:
    """What an event is, worked out without the database (`shape`): its data as stored and that
    data's JSON, its message's columns (None: it makes none), or the error that refuses it. The
    errors are raised where storing reaches the event, after the session's own checks, as if
    they had been found there."""

    data: dict[str, Any]
    data_json: str
    columns: dict[str, Any] | None
    data_error: ChasmError | None = None  # raised first: the event cannot be stored at all
    message_error: ChasmError | None = None  # raised once the session accepts the event


def shape(event: RecordingEventIn) -> Shaped:
    """An event shaped for storing: done as each batch arrives, before it waits for the writer,
    so this work overlaps the database's work on the batches before it."""
    try:
        data, data_json = checked_data(event)
    except ChasmError as error:
        return Shaped({}, "", None, data_error=error)
    try:
        fields = message_fields(event.event_type, data)
    except ChasmError as error:
        return Shaped(data, data_json, None, message_error=error)
    return Shaped(data, data_json, None if fields is None else message_columns(fields))


def reconcile(stored: list[tuple[str, str, str | None]], messages: list[SnapshotMessage]) -> list[int]:
    """Indexes of the snapshot messages not stored yet: matched by id (the event id they were sent
    with), else by role and content against stored messages not matched already."""
    ids = {source_id for _, _, source_id in stored if source_id}
    pool: dict[tuple[str, str], int] = {}
    for role, content, _ in stored:
        pool[(role, content)] = pool.get((role, content), 0) + 1
    missing = []
    for i, m in enumerate(messages):
        if m.id and m.id in ids:
            continue
        key = (m.role, m.content.replace("\x00", ""))
        if pool.get(key, 0) > 0:
            pool[key] -= 1
            continue
        missing.append(i)
    return missing

"""VS Code chat sessions (Copilot Chat `chatSessions/*.json`, version 3, and the `.jsonl` mutation
log that newer VS Code writes instead), turned into messages. Cursor's legacy
`interactive.sessions` array holds the same objects."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ToolCall
from chasm.harvest.sources.toolkit.coercion import as_dict, as_int, as_list, as_str, parse_arguments
from chasm.harvest.sources.toolkit.jsonl import loads
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from

# --- the mutation log ---------------------------------------------------------------------------

KIND_INITIAL, KIND_SET, KIND_PUSH, KIND_DELETE = 0, 1, 2, 3


class ReplayError(ValueError):
    pass


def _walk(state: Any, path: list[Any]) -> Any:
    node = state
    for key in path:
        if isinstance(node, dict) and isinstance(key, str) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and not isinstance(key, bool):
            if not -len(node) <= key < len(node):
                raise ReplayError(f"index {key} out of range")
            node = node[key]
        else:
            raise ReplayError(f"no {key!r} in the path")
    return node


def apply_operation(state: Any, op: dict[str, Any]) -> Any:
    """Apply one log entry to the state and return the (possibly new) state.

    kind 0: the initial state `v`; 1: set `v` at path `k`; 2: push the items `v` onto the array at
    `k`, first truncating it to length `i` when `i` is given; 3: delete the key or index at `k`.
    """
    kind = op.get("kind")
    if isinstance(kind, str) and kind.isdigit():
        kind = int(kind)
    if kind == KIND_INITIAL:
        return op.get("v")
    path = op.get("k")
    if not isinstance(path, list):
        raise ReplayError("operation without a path")
    if state is None:
        raise ReplayError("operation before the initial state")
    if kind == KIND_SET:
        if not path:
            return op.get("v")
        parent = _walk(state, path[:-1])
        key = path[-1]
        if isinstance(parent, dict) and isinstance(key, str):
            parent[key] = op.get("v")
        elif isinstance(parent, list) and isinstance(key, int) and not isinstance(key, bool):
            if key == len(parent):
                parent.append(op.get("v"))
            elif -len(parent) <= key < len(parent):
                parent[key] = op.get("v")
            else:
                raise ReplayError(f"index {key} out of range")
        else:
            raise ReplayError(f"cannot set {key!r}")
        return state
    if kind == KIND_PUSH:
        target = _walk(state, path)
        if not isinstance(target, list):
            raise ReplayError("push onto something that is not an array")
        index = op.get("i")
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= len(target):
                raise ReplayError(f"bad splice index {index!r}")
            del target[index:]
        items = op.get("v")
        if items is not None:
            if not isinstance(items, list):
                raise ReplayError("push value is not an array")
            target.extend(items)
        return state
    if kind == KIND_DELETE:
        if not path:
            raise ReplayError("cannot delete the root")
        parent = _walk(state, path[:-1])
        key = path[-1]
        if isinstance(parent, dict) and isinstance(key, str):
            parent.pop(key, None)
        elif isinstance(parent, list) and isinstance(key, int) and not isinstance(key, bool):
            if -len(parent) <= key < len(parent):
                del parent[key]
        else:
            raise ReplayError(f"cannot delete {key!r}")
        return state
    raise ReplayError(f"unknown operation kind {kind!r}")


def replay_log(lines: list[bytes], path: str, issues: list[ParseIssue]) -> Any:
    """Replay a whole mutation log; a bad line becomes an issue and the replay goes on."""
    state: Any = None
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            op = loads(raw)
        except ValueError as exc:
            issues.append(ParseIssue(path, f"invalid JSON: {exc}", number))
            continue
        if not isinstance(op, dict):
            issues.append(ParseIssue(path, "operation is not an object", number))
            continue
        try:
            state = apply_operation(state, op)
        except ReplayError as exc:
            issues.append(ParseIssue(path, f"cannot apply operation: {exc}", number))
    return state


def load_session(path: Path, issues: list[ParseIssue]) -> dict[str, Any] | None:
    """The session object from a `.json` snapshot or a `.jsonl` mutation log."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        issues.append(ParseIssue(str(path), f"unreadable: {exc}"))
        return None
    state: Any
    if path.suffix == ".jsonl":
        state = replay_log(data.split(b"\n"), str(path), issues)
    else:
        try:
            state = loads(data)
        except ValueError as exc:
            issues.append(ParseIssue(str(path), f"invalid JSON: {exc}"))
            return None
    if not isinstance(state, dict):
        if state is not None or not issues:
            issues.append(ParseIssue(str(path), "no chat session in the file"))
        return None
    return state


# --- session → chat -----------------------------------------------------------------------------


def _basename(path: str) -> str:
    return (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).name


def _reference_text(ref: Any) -> str:
    ref = as_dict(ref)
    name = as_str(ref.get("name"))
    if name:
        return f"`{name}`"
    location = as_dict(ref.get("location"))
    uri = as_dict(location.get("uri")) or ref
    target = as_str(uri.get("fsPath")) or as_str(uri.get("path"))
    return f"`{_basename(target)}`" if target else ""


def _markdown(part: dict[str, Any]) -> str | None:
    value = part.get("value")
    if isinstance(value, str):
        return value
    content = as_dict(part.get("content"))
    if isinstance(content.get("value"), str):
        return str(content["value"])
    return None


def _result_text(node: Any, out: list[str]) -> None:
    """Text of a Copilot tool result (a prompt-tsx tree or plain parts)."""
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, list):
        for item in node:
            _result_text(item, out)
    elif isinstance(node, dict):
        if isinstance(node.get("text"), str):
            out.append(node["text"])
        elif isinstance(node.get("value"), str):
            out.append(node["value"])
        for key in ("content", "value", "node", "children"):
            child = node.get(key)
            if isinstance(child, dict | list):
                _result_text(child, out)


def _tool_calls(request: dict[str, Any], parts: list[Any]) -> list[ToolCall]:
    metadata = as_dict(as_dict(request.get("result")).get("metadata"))
    results = as_dict(metadata.get("toolCallResults"))
    calls: list[ToolCall] = []
    for round_ in as_list(metadata.get("toolCallRounds")):
        for raw in as_list(as_dict(round_).get("toolCalls")):
            raw = as_dict(raw)
            name = as_str(raw.get("name"))
            if not name:
                continue
            call_id = as_str(raw.get("id"))
            output: str | None = None
            if call_id and call_id in results:
                pieces: list[str] = []
                _result_text(results[call_id], pieces)
                output = "".join(pieces)
            calls.append(
                ToolCall(name=name, id=call_id, input=parse_arguments(raw.get("arguments")), output=output)
            )
    if calls:
        return calls
    for part in parts:
        part = as_dict(part)
        if part.get("kind") != "toolInvocationSerialized":
            continue
        message = part.get("pastTenseMessage") or part.get("invocationMessage")
        text = message if isinstance(message, str) else _markdown(as_dict(message))
        calls.append(
            ToolCall(
                name=as_str(part.get("toolId")) or "tool",
                id=as_str(part.get("toolCallId")),
                input=text,
            )
        )
    return calls


def _response_message(request: dict[str, Any], timestamp: Any) -> ParsedMessage | None:
    parts = as_list(request.get("response"))
    text: list[str] = []
    thinking: list[str] = []
    for part in parts:
        part = as_dict(part)
        kind = part.get("kind")
        if kind in (None, "markdownContent", "markdownVuln"):
            value = _markdown(part)
            if value:
                text.append(value)
        elif kind == "inlineReference":
            text.append(_reference_text(part.get("inlineReference")))
        elif kind == "thinking":
            value = part.get("value")
            if isinstance(value, list):
                value = "".join(v for v in value if isinstance(v, str))
            if isinstance(value, str) and value:
                thinking.append(value)
    calls = _tool_calls(request, parts)
    result = as_dict(request.get("result"))
    metadata: dict[str, Any] = {}
    error = as_dict(result.get("errorDetails"))
    if error.get("message"):
        metadata["error"] = error["message"]
    if request.get("isCanceled"):
        metadata["canceled"] = True
    content = "".join(text)
    if not content and not calls and not thinking and not metadata:
        return None
    elapsed = as_int(as_dict(result.get("timings")).get("totalElapsed"))
    when = to_utc(timestamp)
    if when is not None and elapsed > 0:
        # A nonsense duration leaves the request's own time.
        with contextlib.suppress(OverflowError, ValueError):
            when = when + timedelta(milliseconds=elapsed)
    return ParsedMessage(
        role="assistant",
        content=content,
        timestamp=when,
        source_id=as_str(request.get("responseId")),
        parent_source_id=as_str(request.get("requestId")),
        model=as_str(request.get("modelId")),
        thinking="\n\n".join(thinking) or None,
        tool_calls=calls,
        metadata=metadata,
    )


def sessions_in_state_db(
    rows: Any, provider: str, fallback_prefix: str, source_path: str, workspace: str | None
) -> list[ParsedChat]:
    """Chats of the legacy `interactive.sessions` array (older VS Code, Cursor) in `state.vscdb`."""
    chats = []
    for index, session in enumerate(as_list(rows)):
        if isinstance(session, dict) and session.get("requests"):
            chat = session_to_chat(session, provider, f"{fallback_prefix}-{index}", source_path, workspace)
            chat.metadata["format"] = "interactive-session"
            chats.append(chat)
    return chats


def session_to_chat(
    session: dict[str, Any], provider: str, fallback_id: str, source_path: str, workspace: str | None
) -> ParsedChat:
    messages: list[ParsedMessage] = []
    models: Counter[str] = Counter()
    for request in as_list(session.get("requests")):
        request = as_dict(request)
        if not request:
            continue
        timestamp = request.get("timestamp")
        message = as_dict(request.get("message"))
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        metadata: dict[str, Any] = {}
        variables = [
            str(as_dict(v).get("name"))
            for v in as_list(as_dict(request.get("variableData")).get("variables"))
            if as_dict(v).get("name")
        ]
        if variables:
            metadata["attachments"] = variables
        messages.append(
            ParsedMessage(
                role="user",
                content=str(text),
                timestamp=to_utc(timestamp),
                source_id=as_str(request.get("requestId")),
                metadata=metadata,
            )
        )
        model = as_str(request.get("modelId"))
        if model:
            models[model] += 1
        response = _response_message(request, timestamp)
        if response is not None:
            messages.append(response)
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
    chat_metadata: dict[str, Any] = {}
    for key in ("initialLocation", "requesterUsername", "responderUsername"):
        if isinstance(session.get(key), str):
            chat_metadata[key] = session[key]
    return ParsedChat(
        provider=provider,
        source_id=as_str(session.get("sessionId")) or fallback_id,
        messages=messages,
        title=as_str(session.get("customTitle")) or title_from(first_user),
        workspace_path=workspace,
        created_at=to_utc(session.get("creationDate")) or (min(stamps) if stamps else None),
        updated_at=to_utc(session.get("lastMessageDate")) or (max(stamps) if stamps else None),
        model=models.most_common(1)[0][0] if models else None,
        source_path=source_path,
        metadata=chat_metadata,
    )

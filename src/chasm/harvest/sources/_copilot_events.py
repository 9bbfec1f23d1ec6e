"""The GitHub Copilot agent event stream (`{type, data, id, timestamp, parentId}` per line), written
by the Copilot CLI (`~/.copilot/session-state/…`) and by Copilot Chat in VS Code
(`workspaceStorage/<hash>/GitHub.copilot-chat/transcripts/<id>.jsonl`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    TokenUsage,
    ToolCall,
)
from chasm.harvest.sources.toolkit.coercion import (
    as_dict,
    as_int,
    as_list,
    as_str,
    output_text,
    parse_arguments,
)
from chasm.harvest.sources.toolkit.jsonl import read_jsonl
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex

_OPEN_CALLS_KEPT = 200


def _tool_output(data: dict[str, Any]) -> tuple[str | None, bool]:
    result = data.get("result")
    is_error = data.get("success") is False
    text: str | None = None
    if isinstance(result, dict):
        for key in ("content", "textResultForLlm", "text_result_for_llm", "detailedContent"):
            value = result.get(key)
            if isinstance(value, str):
                text = value
                break
        result_type = result.get("resultType") or result.get("result_type")
        if isinstance(result_type, str) and result_type not in ("success", "ok"):
            is_error = True
    elif result is not None:
        text = output_text(result)
    error = data.get("error")
    if text is None and error is not None:
        text = output_text(error)
        is_error = True
    return text, is_error


class EventStreamParser:
    """Turns events into messages; keeps what a later chunk of the same log needs in `state`."""

    def __init__(self, path: Path, state: dict[str, Any] | None = None) -> None:
        self.path = path
        state = state or {}
        self.session_id: str | None = state.get("session_id")
        self.model: str | None = state.get("model")
        self.cwd: str | None = state.get("cwd")
        self.started: str | None = state.get("started")
        self.title: str | None = state.get("title")
        self.metadata: dict[str, Any] = dict(state.get("metadata") or {})
        # Calls still waiting for their result when the previous chunk of the log ended.
        self.earlier_calls: set[str] = set(state.get("open_calls") or [])
        self.messages: list[ParsedMessage] = []
        self.issues: list[ParseIssue] = []
        self.tools = ToolCallIndex()
        self._thinking: list[str] = []
        self.last_timestamp: Any = None

    def state(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "model": self.model,
            "cwd": self.cwd,
            "started": self.started,
            "title": self.title or self._first_prompt_title(),
            "metadata": self.metadata,
            "open_calls": (sorted(self.earlier_calls) + self.tools.unresolved_ids())[-_OPEN_CALLS_KEPT:],
        }

    def feed(self, event: Any, line: int) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self.issues.append(ParseIssue(str(self.path), "event without a type", line))
            return
        kind: str = event["type"]
        data = as_dict(event.get("data"))
        timestamp = to_utc(event.get("timestamp"))
        if timestamp is not None:
            self.last_timestamp = event.get("timestamp")
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event, data, timestamp)

    # --- handlers -------------------------------------------------------------------------

    def _session_start(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        self.session_id = as_str(data.get("sessionId")) or self.session_id
        self.started = as_str(data.get("startTime")) or as_str(event.get("timestamp"))
        self._context(data)
        for key in ("copilotVersion", "vscodeVersion", "producer"):
            if isinstance(data.get(key), str):
                self.metadata[key] = data[key]

    def _context(self, data: dict[str, Any], fill_only: bool = False) -> None:
        """Model and folder from a start (or, only where still unknown, a resume) event."""
        model = as_str(data.get("selectedModel"))
        if model and not (fill_only and self.model):
            self.model = model
        context = as_dict(data.get("context"))
        cwd = as_str(context.get("cwd"))
        if cwd and not (fill_only and self.cwd):
            self.cwd = cwd
        for key in ("branch", "repository", "gitRoot"):
            if isinstance(context.get(key), str) and not (fill_only and key in self.metadata):
                self.metadata[key] = context[key]

    def _resume(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        self._context(data, fill_only=True)

    def _model_change(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        self.model = as_str(data.get("newModel")) or self.model

    def _user(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        content = data.get("content")
        metadata: dict[str, Any] = {}
        attachments = as_list(data.get("attachments"))
        if attachments:
            metadata["attachments"] = attachments
        self.messages.append(
            ParsedMessage(
                role="user",
                content=content if isinstance(content, str) else output_text(content) or "",
                timestamp=timestamp,
                source_id=as_str(event.get("id")),
                parent_source_id=as_str(event.get("parentId")),
                metadata=metadata,
            )
        )

    def _reasoning(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        text = as_str(data.get("content"))
        if text:
            self._thinking.append(text)

    def _assistant(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        model = as_str(data.get("model")) or self.model
        calls: list[ToolCall] = []
        for request in as_list(data.get("toolRequests")):
            request = as_dict(request)
            name = as_str(request.get("name"))
            if not name:
                continue
            call = ToolCall(
                name=name,
                id=as_str(request.get("toolCallId")),
                input=parse_arguments(request.get("arguments")),
            )
            self.tools.add(call)
            calls.append(call)
        thinking = as_str(data.get("reasoningText"))
        if self._thinking:
            thinking = "\n\n".join([*self._thinking, *([thinking] if thinking else [])])
            self._thinking = []
        output_tokens = as_int(data.get("outputTokens"))
        metadata: dict[str, Any] = {}
        if isinstance(data.get("parentToolCallId"), str):
            metadata["parent_tool_call_id"] = data["parentToolCallId"]
        content = data.get("content")
        self.messages.append(
            ParsedMessage(
                role="assistant",
                content=content if isinstance(content, str) else "",
                timestamp=timestamp,
                source_id=as_str(data.get("messageId")) or as_str(event.get("id")),
                parent_source_id=as_str(event.get("parentId")),
                model=model,
                thinking=thinking,
                tool_calls=calls,
                usage=TokenUsage(output_tokens=output_tokens) if output_tokens else None,
                metadata=metadata,
            )
        )

    def _tool_start(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        call_id = as_str(data.get("toolCallId"))
        if call_id in self.earlier_calls:
            return  # its assistant message was stored with the earlier chunk
        existing = self.tools.get(call_id)
        if existing is not None:
            if existing.input in (None, {}, "") and data.get("arguments") is not None:
                existing.input = parse_arguments(data.get("arguments"))
            return
        call = ToolCall(
            name=as_str(data.get("toolName")) or "tool",
            id=call_id,
            input=parse_arguments(data.get("arguments")),
        )
        self.tools.add(call)
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant":
            last.tool_calls.append(call)
            return
        self.messages.append(
            ParsedMessage(
                role="assistant",
                content="",
                timestamp=timestamp,
                source_id=as_str(event.get("id")),
                parent_source_id=as_str(event.get("parentId")),
                model=as_str(data.get("model")) or self.model,
                tool_calls=[call],
            )
        )

    def _tool_complete(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        call_id = as_str(data.get("toolCallId"))
        text, is_error = _tool_output(data)
        if self.tools.resolve(call_id, text, is_error) is not None:
            return
        self.earlier_calls.discard(call_id or "")
        # The call was in an earlier chunk of the log (or never logged): keep the result as its
        # own message so that nothing is lost.
        self.messages.append(
            ParsedMessage(
                role="tool",
                content=text or "",
                timestamp=timestamp,
                source_id=as_str(event.get("id")),
                parent_source_id=as_str(event.get("parentId")),
                metadata={"tool_call_id": call_id, "is_error": is_error},
            )
        )

    def _shutdown(self, event: dict[str, Any], data: dict[str, Any], timestamp: Any) -> None:
        self.model = as_str(data.get("currentModel")) or self.model
        details = as_dict(data.get("tokenDetails"))
        if details:
            self.metadata["usage"] = {
                "input_tokens": as_int(as_dict(details.get("input")).get("tokenCount")),
                "output_tokens": as_int(as_dict(details.get("output")).get("tokenCount")),
                "cache_read_tokens": as_int(as_dict(details.get("cache_read")).get("tokenCount")),
                "cache_write_tokens": as_int(as_dict(details.get("cache_write")).get("tokenCount")),
            }
        if "totalPremiumRequests" in data:
            self.metadata["premium_requests"] = data["totalPremiumRequests"]

    def _first_prompt_title(self) -> str | None:
        first_user = next((m for m in self.messages if m.role == "user"), None)
        return title_from(first_user.content) if first_user else None

    def chat(self, provider: str, fallback_id: str) -> ParsedChat:
        stamps = [m.timestamp for m in self.messages if m.timestamp is not None]
        return ParsedChat(
            provider=provider,
            source_id=self.session_id or fallback_id,
            messages=self.messages,
            title=self.title or self._first_prompt_title(),
            workspace_path=self.cwd,
            created_at=to_utc(self.started) or (min(stamps) if stamps else None),
            updated_at=to_utc(self.last_timestamp) or (max(stamps) if stamps else None),
            model=self.model,
            source_path=str(self.path),
            metadata=dict(self.metadata),
        )


_HANDLERS: dict[str, Any] = {
    "session.start": EventStreamParser._session_start,
    "session.resume": EventStreamParser._resume,
    "session.model_change": EventStreamParser._model_change,
    "session.shutdown": EventStreamParser._shutdown,
    "user.message": EventStreamParser._user,
    "assistant.reasoning": EventStreamParser._reasoning,
    "assistant.message": EventStreamParser._assistant,
    "tool.execution_start": EventStreamParser._tool_start,
    "tool.execution_complete": EventStreamParser._tool_complete,
}


def parse_event_log(
    path: Path, provider: str, fallback_id: str, resume: Resume | None, resumable: bool
) -> ParseOutcome:
    state = resume.state if resume else {}
    parser = EventStreamParser(path, state)
    offset = resume.offset if resume else 0
    next_line = int(state.get("line", 1)) if resume else 1
    chunk = read_jsonl(path, offset, next_line)
    if chunk.failed:
        return ParseOutcome(chats=[], issues=chunk.issues)
    for line, record in chunk.records:
        parser.feed(record, line)
    parser.issues = sorted([*chunk.issues, *parser.issues], key=lambda issue: issue.line or 0)
    end, next_line = chunk.end_offset, chunk.end_line + 1
    new_resume = Resume(end, {**parser.state(), "line": next_line}) if resumable else None
    if not parser.messages and (resume is not None or parser.session_id is None):
        return ParseOutcome(chats=[], issues=parser.issues, resume=new_resume)
    return ParseOutcome(chats=[parser.chat(provider, fallback_id)], issues=parser.issues, resume=new_resume)

"""OpenAI Codex CLI: ~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl and archived_sessions/ ($CODEX_HOME),
plus the legacy TypeScript CLI's single-JSON sessions (~/.codex/sessions/rollout-*.json).

Each JSONL line is {timestamp, type, payload}: session_meta (id, cwd, cli version, git, parent
thread), turn_context (model, cwd), response_item (message, reasoning, function_call,
custom_tool_call, local_shell_call, web_search_call and their outputs), event_msg (token_count,
user_message, agent_message, agent_reasoning, thread_name_updated, ...) and compacted. Older
builds wrote bare response items without the envelope; they are read too.

The conversation comes from the response items; the event_msg copies of the same text
(user_message, agent_message, agent_reasoning) are used only by files that have no response-item
messages. Tool calls start an assistant "step" message (content "") that collects the calls up to
the next message; reasoning summaries become the thinking of the next assistant message.
token_count events give each model response its usage (last_token_usage; a repeated event with the
same running total is ignored). Only the first session_meta of a file counts (forks copy their
parent's). Resumable from a byte offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
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
from chasm.harvest.sources.toolkit.coercion import (
    as_dict,
    as_int,
    as_list,
    as_str,
    parse_arguments,
    text_of,
    to_json_text,
)
from chasm.harvest.sources.toolkit.jsonl import load_json, read_jsonl
from chasm.harvest.sources.toolkit.paths import env_path, walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.titles import wrapper_kind
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex, tool_message
from chasm.harvest.sources.toolkit.usage import add_usage, main_model, usage_from_openai

UUID_TAIL = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.I)
RESPONSE_ITEM_TYPES = {
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "local_shell_call",
    "web_search_call",
}
TOOL_CALL_TYPES = (
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "web_search_call",
    "tool_search_call",
)
TOOL_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output", "tool_search_output")


class CodexSource:
    name = "codex"
    display_name = "Codex CLI"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        base = env_path(env, "CODEX_HOME") or home / ".codex"
        return [base / "sessions", base / "archived_sessions"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        def match(path: Path) -> bool:
            return path.name.startswith("rollout-") and path.suffix in (".jsonl", ".json")

        for path in walk_files(roots, match):
            yield SourceUnit(key=str(path), paths=[path], resumable=path.suffix == ".jsonl")

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        if path.suffix == ".json":
            return self._parse_legacy_json(path)
        offset = resume.offset if resume else 0
        state = dict(resume.state) if resume else {}
        chunk = read_jsonl(path, offset, as_int(state.get("lines")) + 1)
        if chunk.failed:
            return ParseOutcome([], chunk.issues)
        builder = _Builder(path, state)
        chat = builder.build(chunk.records)
        new_state = builder.state()
        new_state["lines"] = chunk.end_line
        return ParseOutcome([chat] if chat else [], chunk.issues, Resume(chunk.end_offset, new_state))

    def _parse_legacy_json(self, path: Path) -> ParseOutcome:
        data, issue = load_json(path)
        if issue is not None:
            return ParseOutcome([], [issue])
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return ParseOutcome([], [ParseIssue(str(path), "not a Codex session (no items)")])
        session = as_dict(data.get("session"))
        ts = session.get("timestamp")
        records: list[tuple[int, dict[str, Any]]] = [
            (0, {"type": "session_meta", "timestamp": ts, "payload": {**session, "id": session.get("id")}})
        ]
        for item in data["items"]:
            if isinstance(item, dict):
                records.append((0, {"type": "response_item", "timestamp": ts, "payload": item}))
        builder = _Builder(path, {})
        chat = builder.build(records)
        return ParseOutcome([chat] if chat else [])


class _Builder:
    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.source_id: str | None = as_str(state.get("source_id"))
        self.model: str | None = as_str(state.get("model"))
        self.cwd: str | None = as_str(state.get("cwd"))
        self.has_items = bool(state.get("has_items"))
        self.last_total: list[int] | None = state.get("last_total")
        self.meta_seen = bool(state.get("meta_seen"))
        self.meta: dict[str, Any] = {}
        self.parent: str | None = None
        self.title: str | None = None
        self.messages: list[ParsedMessage] = []
        self.tools = ToolCallIndex()
        self.pending_thinking: list[str] = []
        self.pending_usage: TokenUsage | None = None
        self.step: ParsedMessage | None = None  # the assistant message collecting tool calls
        self.total_usage: dict[str, int] | None = None

    def state(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "model": self.model,
            "cwd": self.cwd,
            "has_items": self.has_items,
            "last_total": self.last_total,
            "meta_seen": self.meta_seen,
        }

    def build(self, records: list[tuple[int, dict[str, Any]]]) -> ParsedChat | None:
        normalized = [(line, _envelope(rec)) for line, rec in records]
        if not self.has_items:
            self.has_items = any(
                rec.get("type") == "response_item"
                and isinstance(rec.get("payload"), dict)
                and rec["payload"].get("type") == "message"
                for _, rec in normalized
            )
        for _, rec in normalized:
            payload = rec.get("payload")
            if not isinstance(payload, dict):
                continue
            kind = rec.get("type")
            if kind == "session_meta":
                self._session_meta(payload)
            elif kind == "turn_context":
                self.model = as_str(payload.get("model")) or self.model
                self.cwd = self.cwd or as_str(payload.get("cwd"))
            elif kind == "response_item":
                self._response_item(payload, to_utc(rec.get("timestamp")))
            elif kind == "event_msg":
                self._event(payload, rec.get("timestamp"))
        if self.source_id is None:
            found = UUID_TAIL.search(self.path.stem)
            self.source_id = found.group(1) if found else self.path.stem
        if not self.messages and not self.title:
            return None
        first, last = time_bounds(self.messages)
        meta = dict(self.meta)
        if self.total_usage:
            meta["token_usage"] = self.total_usage
        return ParsedChat(
            provider="codex",
            source_id=self.source_id,
            messages=self.messages,
            title=self.title,
            workspace_path=self.cwd,
            created_at=first,
            updated_at=last,
            model=main_model(self.messages) or self.model,
            parent_source_id=self.parent,
            source_path=str(self.path),
            metadata=meta,
        )

    # --- records ---

    def _session_meta(self, payload: dict[str, Any]) -> None:
        if self.meta_seen:
            return  # a fork or resumed thread repeats its parent's meta: the first one is this session
        self.meta_seen = True
        self.source_id = self.source_id or as_str(payload.get("id")) or as_str(payload.get("session_id"))
        self.cwd = as_str(payload.get("cwd")) or self.cwd
        for key, name in (
            ("cli_version", "cli_version"),
            ("originator", "originator"),
            ("model_provider", "model_provider"),
        ):
            if as_str(payload.get(key)):
                self.meta[name] = payload[key]
        if isinstance(payload.get("source"), str):
            self.meta["source"] = payload["source"]
        git = payload.get("git")
        if isinstance(git, dict):
            if as_str(git.get("branch")):
                self.meta["git_branch"] = git["branch"]
            if as_str(git.get("commit_hash")):
                self.meta["git_commit"] = git["commit_hash"]
            if as_str(git.get("repository_url")):
                self.meta["git_repository"] = git["repository_url"]
        parent = as_str(payload.get("forked_from_id")) or as_str(payload.get("parent_thread_id"))
        source = payload.get("source")
        if parent is None and isinstance(source, dict):
            spawn = as_dict(source.get("subagent"))
            thread_spawn = spawn.get("thread_spawn")
            if isinstance(thread_spawn, dict):
                parent = as_str(thread_spawn.get("parent_thread_id"))
        self.parent = parent

    def _response_item(self, item: dict[str, Any], ts: datetime | None) -> None:
        kind = item.get("type")
        if kind == "message":
            self._message(item, ts)
        elif kind == "reasoning":
            texts = [text_of(s) for s in as_list(item.get("summary")) if isinstance(s, dict)]
            if not any(texts):
                texts = [text_of(c) for c in as_list(item.get("content")) if isinstance(c, dict)]
            text = "\n\n".join(t for t in texts if t)
            if text:
                self.pending_thinking.append(text)
        elif kind in TOOL_CALL_TYPES:
            self._tool_call(item, ts)
        elif kind in TOOL_OUTPUT_TYPES:
            output, is_error = _output_text(item.get("output") if "output" in item else item.get("tools"))
            call_id = as_str(item.get("call_id"))
            if not self.tools.resolve(call_id, output, is_error):
                self.messages.append(tool_message(call_id, output, is_error, ts))

    def _message(self, item: dict[str, Any], ts: datetime | None) -> None:
        role = item.get("role")
        content = item.get("content")
        texts: list[str] = []
        images = 0
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                ptype = part.get("type")
                if ptype in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif ptype in ("input_image", "image"):
                    images += 1
        text = "\n\n".join(t for t in texts if t)
        extra: dict[str, Any] = {}
        if images:
            extra["images"] = images
        if role == "assistant":
            self._add_assistant(text, ts, as_str(item.get("id")), extra)
            return
        if role in ("developer", "system"):
            parsed_role = "system"
        elif role == "user":
            parsed_role = "user"
            wrapper = wrapper_kind(text)
            if wrapper:
                parsed_role = "system"
                extra["injected"] = True
                extra["meta"] = wrapper
        else:
            return
        if not text and not images:
            return
        self.step = None
        self.messages.append(
            ParsedMessage(
                role=parsed_role, content=text, timestamp=ts, source_id=as_str(item.get("id")), metadata=extra
            )
        )

    def _add_assistant(
        self, text: str, ts: datetime | None, source_id: str | None, extra: dict[str, Any]
    ) -> None:
        thinking = "\n\n".join(self.pending_thinking) or None
        self.pending_thinking = []
        if not text and not thinking:
            return
        message = ParsedMessage(
            role="assistant",
            content=text,
            timestamp=ts,
            source_id=source_id,
            model=self.model,
            thinking=thinking,
            metadata=extra,
        )
        if self.pending_usage is not None:
            message.usage, self.pending_usage = self.pending_usage, None
        self.messages.append(message)
        self.step = None

    def _tool_call(self, item: dict[str, Any], ts: datetime | None) -> None:
        kind = item.get("type")
        if kind == "local_shell_call":
            name = "local_shell"
            arguments: Any = item.get("action")
        elif kind == "web_search_call":
            name = "web_search"
            arguments = item.get("action")
        elif kind == "tool_search_call":
            name = "tool_search"
            arguments = item.get("arguments")
        elif kind == "custom_tool_call":
            name = str(item.get("name") or "tool")
            arguments = parse_arguments(item.get("input"))
        else:
            name = str(item.get("name") or "tool")
            arguments = parse_arguments(item.get("arguments"))
        call = ToolCall(name=name, id=as_str(item.get("call_id")) or as_str(item.get("id")), input=arguments)
        if kind == "web_search_call":
            call.output = as_str(item.get("status"))
        self.tools.add(call)
        if self.step is None:
            thinking = "\n\n".join(self.pending_thinking) or None
            self.pending_thinking = []
            self.step = ParsedMessage(
                role="assistant", content="", timestamp=ts, model=self.model, thinking=thinking
            )
            if self.pending_usage is not None:
                self.step.usage, self.pending_usage = self.pending_usage, None
            self.messages.append(self.step)
        self.step.tool_calls.append(call)

    def _event(self, payload: dict[str, Any], raw_ts: Any) -> None:
        kind = payload.get("type")
        if kind == "token_count":
            self._token_count(payload.get("info"))
        elif kind == "turn.completed" and isinstance(payload.get("usage"), dict):
            self._add_usage(usage_from_openai(payload["usage"]), payload["usage"])
        elif kind == "thread_name_updated":
            self.title = as_str(payload.get("thread_name")) or self.title
        elif self.has_items:
            return
        elif kind == "user_message":
            text = text_of(payload.get("message"))
            if text:
                self.step = None
                wrapper = wrapper_kind(text)
                meta = {"injected": True, "meta": wrapper} if wrapper else {}
                role = "system" if wrapper else "user"
                self.messages.append(
                    ParsedMessage(role=role, content=text, timestamp=to_utc(raw_ts), metadata=meta)
                )
        elif kind == "agent_reasoning":
            text = text_of(payload.get("text"))
            if text:
                self.pending_thinking.append(text)
        elif kind == "agent_message":
            self._add_assistant(text_of(payload.get("message")), to_utc(raw_ts), None, {})

    def _token_count(self, info: Any) -> None:
        if not isinstance(info, dict):
            return
        last = info.get("last_token_usage")
        total = info.get("total_token_usage")
        if isinstance(total, dict):
            key = [
                as_int(total.get(k))
                for k in ("input_tokens", "cached_input_tokens", "output_tokens", "total_tokens")
            ]
            if key == self.last_total:
                return  # the same event repeated
            self.last_total = key
            self.total_usage = {k: as_int(v) for k, v in total.items() if isinstance(v, int | float)}
        if isinstance(last, dict):
            self._add_usage(usage_from_openai(last), None)
        elif "prompt" in info or "completion" in info:
            usage = TokenUsage(
                input_tokens=as_int(info.get("prompt")), output_tokens=as_int(info.get("completion"))
            )
            self._add_usage(usage, {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens})

    def _add_usage(self, usage: TokenUsage, running: dict[str, Any] | None) -> None:
        if running is not None:
            totals = self.total_usage or {}
            for k, v in running.items():
                if isinstance(v, int | float):
                    totals[k] = totals.get(k, 0) + int(v)
            self.total_usage = totals
        target = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        if target is None or (self.messages and self.messages[-1].role == "user"):
            self.pending_usage = add_usage(self.pending_usage, usage)
            return
        target.usage = add_usage(target.usage, usage)


def _envelope(rec: dict[str, Any]) -> dict[str, Any]:
    """Bring a bare legacy line into the {timestamp, type, payload} shape."""
    if "payload" in rec:
        return rec
    kind = rec.get("type")
    if kind in RESPONSE_ITEM_TYPES:
        return {"type": "response_item", "timestamp": rec.get("timestamp"), "payload": rec}
    if kind is None and "id" in rec and ("instructions" in rec or "timestamp" in rec):
        return {"type": "session_meta", "timestamp": rec.get("timestamp"), "payload": rec}
    return rec


def _output_text(output: Any) -> tuple[str, bool]:
    if isinstance(output, str):
        return output, False
    if isinstance(output, dict):
        is_error = output.get("success") is False
        if "content" in output or "text" in output or "output" in output:
            return text_of(output), is_error
        return to_json_text(output), is_error
    if isinstance(output, list):
        return text_of(output), False
    return ("" if output is None else to_json_text(output)), False


source = CodexSource()

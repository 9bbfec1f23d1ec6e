"""Claude Code: ~/.claude/projects/<escaped-cwd>/<sessionId>.jsonl ($CLAUDE_CONFIG_DIR), plus
sub-agent transcripts (old layout: agent-<id>.jsonl beside the session; 2.1.x layout:
<sessionId>/subagents/agent-<id>.jsonl with agent-<id>.meta.json).

Records form a tree through uuid/parentUuid (logicalParentUuid across compactions); edits and
rewinds create branches. Branch choice: the main branch is the path from the last user/assistant
record of the file back to its root. Messages hanging off that path through another child (an
abandoned edit or rewind, a superseded reply) are skipped; their number is kept in
metadata["skipped_branch_messages"]. Records whose chain never reaches the main branch (a broken
or missing parent link) are kept, in file order. Tool results are matched to their calls by id
wherever they sit, and fold into the call (ToolCall.output); a result whose call is not in this
parse becomes a "tool" message.

One API message split over several records with the same message.id becomes one message, with
its usage counted once. Resumable: a resumed parse returns only the messages after the offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_int, as_str
from chasm.harvest.sources.toolkit.jsonl import load_json, read_jsonl
from chasm.harvest.sources.toolkit.paths import env_path, walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.titles import wrapper_kind
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex, tool_message
from chasm.harvest.sources.toolkit.usage import main_model, max_usage, usage_from_anthropic

MESSAGE_TYPES = ("user", "assistant")


class ClaudeCodeSource:
    name = "claude-code"
    display_name = "Claude Code"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        configured = env_path(env, "CLAUDE_CONFIG_DIR")
        if configured is not None:
            return [configured / "projects"]
        roots = [home / ".claude" / "projects"]
        if platform == "linux":
            xdg = env_path(env, "XDG_CONFIG_HOME") or home / ".config"
            roots.append(xdg / "claude" / "projects")
        return roots

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        for path in walk_files(roots, lambda p: p.suffix == ".jsonl"):
            paths = [path]
            if path.parent.name == "subagents":
                meta = path.with_name(path.stem + ".meta.json")
                if meta.exists():
                    paths.append(meta)
            yield SourceUnit(key=str(path), paths=paths, resumable=True)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        offset = resume.offset if resume else 0
        state = dict(resume.state) if resume else {}
        chunk = read_jsonl(path, offset, as_int(state.get("lines")) + 1)
        if chunk.failed:
            return ParseOutcome([], chunk.issues)
        builder = _Builder(path, unit, state)
        chat = builder.build(chunk.records)
        new_state = {
            "lines": chunk.end_line,
            "last_message_id": builder.last_message_id,
            "source_id": builder.source_id,
        }
        chats = [chat] if chat is not None else []
        return ParseOutcome(chats, chunk.issues, Resume(chunk.end_offset, new_state))


class _Builder:
    def __init__(self, path: Path, unit: SourceUnit, state: dict[str, Any]) -> None:
        self.path = path
        self.unit = unit
        self.resumed = bool(state)
        self.source_id = str(state.get("source_id") or path.stem)
        self.last_message_id: str | None = as_str(state.get("last_message_id"))
        self.previous_message_id = self.last_message_id

    def build(self, records: list[tuple[int, dict[str, Any]]]) -> ParsedChat | None:
        parents: dict[str, str | None] = {}
        leaf: str | None = None
        titles: dict[str, str] = {}
        summaries: list[tuple[str | None, str]] = []
        meta: dict[str, Any] = {}
        session_id: str | None = None
        message_records: list[tuple[Any, str | None, dict[str, Any]]] = []  # (type, uuid, record)
        for _, rec in records:
            kind = rec.get("type")
            uid = rec.get("uuid")
            is_message = kind in MESSAGE_TYPES
            if isinstance(uid, str):
                parent = rec.get("parentUuid")
                if parent is None:
                    parent = rec.get("logicalParentUuid")
                parents[uid] = parent if isinstance(parent, str) else None
                if is_message:
                    leaf = uid
            else:
                uid = None
            if is_message:
                message_records.append((kind, uid, rec))
                session_id = session_id or as_str(rec.get("sessionId"))
                # The last real value of each (not "[...]" placeholders); one record at a time, in this
                # order, so that `meta` keeps its key order.
                value = rec.get("cwd")
                if value.__class__ is str and value and value[0] != "[":
                    meta["cwd"] = value
                value = rec.get("gitBranch")
                if value.__class__ is str and value and value[0] != "[":
                    meta["git_branch"] = value
                value = rec.get("version")
                if value.__class__ is str and value and value[0] != "[":
                    meta["cli_version"] = value
                if rec.get("agentId") and "agent_id" not in meta:
                    meta["agent_id"] = rec.get("agentId")
            elif kind == "summary":
                text = as_str(rec.get("summary"))
                if text:
                    summaries.append((as_str(rec.get("leafUuid")), text))
            elif kind == "custom-title" and as_str(rec.get("customTitle")):
                titles["custom"] = rec["customTitle"]
            elif kind == "ai-title" and as_str(rec.get("aiTitle")):
                titles["ai"] = rec["aiTitle"]

        status = _branch_status(parents, leaf)
        messages: list[ParsedMessage] = []
        by_message_id: dict[str, ParsedMessage] = {}
        tools = ToolCallIndex()
        skipped = 0
        for kind, uid, rec in message_records:
            message = rec.get("message")
            if not isinstance(message, dict):
                continue
            abandoned = uid is not None and status.get(uid) == _ABANDONED
            ts = to_utc(rec.get("timestamp"))
            blocks = read_blocks(message.get("content"))
            # Tool results are matched wherever they sit (parallel results may hang off a sibling).
            for tool_id, output, is_error in blocks.results:
                if not tools.resolve(tool_id, output, is_error) and not abandoned:
                    messages.append(tool_message(tool_id, output, is_error, ts))
            if abandoned:
                if blocks.text or blocks.tool_calls or blocks.thinking:
                    skipped += 1
                continue
            if kind == "assistant":
                self._assistant(rec, message, blocks, ts, uid, messages, by_message_id, tools)
            elif blocks.text or blocks.images:
                extra: dict[str, Any] = {}
                role = "user"
                # Records the person never typed stay, as system messages saying what they are.
                wrapper = wrapper_kind(blocks.text)
                if rec.get("isCompactSummary"):
                    extra["is_compact_summary"] = True
                    wrapper = "summary"
                elif rec.get("isMeta"):
                    extra["is_meta"] = True
                    wrapper = wrapper or "meta"
                if wrapper:
                    role = "system"
                    extra["meta"] = wrapper
                if blocks.images:
                    extra["images"] = blocks.images
                messages.append(
                    ParsedMessage(
                        role=role,
                        content=blocks.text,
                        timestamp=ts,
                        source_id=uid,
                        parent_source_id=as_str(rec.get("parentUuid")),
                        metadata=extra,
                    )
                )
        if not messages and not (self.resumed and titles):
            return None
        title = titles.get("custom") or titles.get("ai")
        if title is None:
            known = set(parents)
            for leaf_uuid, text in summaries:
                if leaf_uuid in known:
                    title = text
        chat_meta: dict[str, Any] = {k: v for k, v in meta.items() if k != "cwd"}
        if skipped:
            chat_meta["skipped_branch_messages"] = skipped
        parent_source_id = None
        if self.path.parent.name == "subagents":
            parent_source_id = self.path.parent.parent.name
            if len(self.unit.paths) > 1:
                side, _ = load_json(self.unit.paths[1])
                if isinstance(side, dict):
                    for key, name in (("agentType", "agent_type"), ("spawnDepth", "spawn_depth")):
                        if key in side:
                            chat_meta[name] = side[key]
        elif self.path.stem.startswith("agent-") and session_id and session_id != self.path.stem:
            parent_source_id = session_id
        first, last = time_bounds(messages)
        return ParsedChat(
            provider="claude-code",
            source_id=self.source_id,
            messages=messages,
            title=title,
            workspace_path=meta.get("cwd"),
            created_at=first,
            updated_at=last,
            model=main_model(messages),
            parent_source_id=parent_source_id,
            source_path=str(self.path),
            metadata=chat_meta,
        )

    def _assistant(
        self,
        rec: dict[str, Any],
        message: dict[str, Any],
        blocks: Any,
        ts: Any,
        uid: str | None,
        messages: list[ParsedMessage],
        by_message_id: dict[str, ParsedMessage],
        tools: ToolCallIndex,
    ) -> None:
        message_id = as_str(message.get("id"))
        usage = usage_from_anthropic(message.get("usage"))
        model = as_str(message.get("model"))
        for call in blocks.tool_calls:
            tools.add(call)
        existing = by_message_id.get(message_id) if message_id else None
        if existing is not None:
            if blocks.text:
                existing.content = f"{existing.content}\n\n{blocks.text}" if existing.content else blocks.text
            if blocks.thinking:
                joined = "\n\n".join(blocks.thinking)
                existing.thinking = f"{existing.thinking}\n\n{joined}" if existing.thinking else joined
            existing.tool_calls.extend(blocks.tool_calls)
            if not existing.metadata.get("continued"):  # a continued message's usage is already stored
                existing.usage = max_usage(existing.usage, usage)
            existing.model = existing.model or model
            return
        if not (blocks.text or blocks.thinking or blocks.tool_calls):
            return
        extra: dict[str, Any] = {}
        if message_id and message_id == self.previous_message_id:
            # The first part of this API message was stored before the resume offset: its usage too.
            usage = None
            extra["continued"] = True
        if rec.get("isApiErrorMessage"):
            extra["api_error"] = True
        if as_str(message.get("stop_reason")):
            extra["stop_reason"] = message["stop_reason"]
        parsed = ParsedMessage(
            role="assistant",
            content=blocks.text,
            timestamp=ts,
            source_id=message_id or uid,
            parent_source_id=as_str(rec.get("parentUuid")),
            model=model,
            thinking="\n\n".join(blocks.thinking) or None,
            tool_calls=list(blocks.tool_calls),
            usage=usage,
            metadata=extra,
        )
        if uid:
            parsed.metadata["uuid"] = uid
        messages.append(parsed)
        if message_id:
            by_message_id[message_id] = parsed
            self.last_message_id = message_id


_MAIN, _ABANDONED, _DETACHED = 1, 2, 3


def _branch_status(parents: dict[str, str | None], leaf: str | None) -> dict[str, int]:
    """For each uuid: on the main branch (the path from `leaf` to its root), abandoned (joins the main
    branch through another child) or detached (never reaches it). Linear; safe against cycles."""
    status: dict[str, int] = {}
    node = leaf
    while node is not None and node not in status:
        status[node] = _MAIN
        node = parents.get(node)
    for start in parents:
        if start in status:
            continue
        chain: list[str] = []
        seen: set[str] = set()
        node = start
        result = _DETACHED
        while True:
            if node in status:
                result = _ABANDONED if status[node] == _MAIN else status[node]
                break
            if node in seen or node not in parents:
                break
            seen.add(node)
            chain.append(node)
            parent = parents[node]
            if parent is None:
                break
            node = parent
        for item in chain:
            status[item] = result
    return status


source = ClaudeCodeSource()

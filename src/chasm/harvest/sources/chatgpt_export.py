"""ChatGPT data export: conversations.json (a list of conversations) or a single conversation saved
as its own JSON file.

A conversation is a tree: mapping{nodeId: {message, parent, children}} with current_node the leaf
the user last saw. The chat's messages are the main branch, walked from current_node up to the root
(then reversed). Alternate branches (regenerated answers, edited prompts) stay reachable in
metadata["branches"]: for every node of the main branch with other children, one entry per other
child {"parent": node id, "messages": [{id, role, content, created_at, model}]}, following the
newest child at each further fork.

Messages: author.role system/user/assistant/tool; content types text and multimodal_text (parts;
images count in metadata), code (an assistant message to a tool: recipient != "all" becomes a tool
call), thoughts / reasoning_recap (thinking), execution_output, tether_* (tool output). Empty and
hidden scaffold messages (empty system prompts, model_editable_context) are skipped. model_slug
gives the model, create_time (epoch seconds) the timestamp. There is no token usage. Opt-in: the
export is a zip the user unpacks somewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    SourceUnit,
    ToolCall,
)
from chasm.harvest.sources.toolkit.coercion import as_dict, as_list, as_str, parse_arguments, text_of
from chasm.harvest.sources.toolkit.jsonl import load_json, read_head
from chasm.harvest.sources.toolkit.paths import walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.usage import main_model

THINKING_TYPES = ("thoughts", "reasoning_recap")
SKIP_TYPES = ("model_editable_context", "user_editable_context")


class ChatGptExportSource:
    name = "chatgpt-export"
    display_name = "ChatGPT export"
    opt_in = True

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return []  # an export lives wherever the user unpacked it: configure its folder

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        def match(path: Path) -> bool:
            if path.suffix != ".json":
                return False
            head = read_head(path)
            return b'"mapping"' in head and b'"chat_messages"' not in head

        for path in walk_files(roots, match):
            yield SourceUnit(key=str(path), paths=[path])

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        data, issue = load_json(path)
        if issue is not None:
            return ParseOutcome([], [issue])
        conversations = [data] if isinstance(data, dict) else data
        if not isinstance(conversations, list):
            return ParseOutcome([], [ParseIssue(str(path), "not a ChatGPT export")])
        chats: list[ParsedChat] = []
        issues: list[ParseIssue] = []
        for index, conv in enumerate(conversations):
            if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
                issues.append(ParseIssue(str(path), f"conversation {index} has no mapping"))
                continue
            try:
                chat = _conversation(path, index, conv)
            except Exception as exc:
                issues.append(ParseIssue(str(path), f"conversation {index}: {type(exc).__name__}: {exc}"))
                continue
            if chat is not None:
                chats.append(chat)
        return ParseOutcome(chats, issues)


def _conversation(path: Path, index: int, conv: dict[str, Any]) -> ParsedChat | None:
    mapping: dict[str, Any] = conv["mapping"]
    leaf = as_str(conv.get("current_node"))
    if leaf not in mapping:
        leaf = _newest_leaf(mapping)
    main: list[str] = []
    seen: set[str] = set()
    node_id = leaf
    while node_id is not None and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        main.append(node_id)
        parent = mapping[node_id].get("parent") if isinstance(mapping[node_id], dict) else None
        node_id = parent if isinstance(parent, str) else None
    main.reverse()
    messages = _messages(mapping, main)
    if not messages:
        return None
    branches = []
    on_main = set(main)
    for node_id in main:
        node = mapping.get(node_id)
        for child in as_list(node.get("children")) if isinstance(node, dict) else []:
            if not isinstance(child, str) or child in on_main or child not in mapping:
                continue
            path_ids = _follow_newest(mapping, child)
            alt = _messages(mapping, path_ids)
            if alt:
                branches.append(
                    {
                        "parent": node_id,
                        "messages": [
                            {
                                "id": m.source_id,
                                "role": m.role,
                                "content": m.content,
                                "created_at": m.timestamp.isoformat() if m.timestamp else None,
                                "model": m.model,
                            }
                            for m in alt
                        ],
                    }
                )
    meta: dict[str, Any] = {}
    if branches:
        meta["branches"] = branches
    for key in ("gizmo_id", "is_archived", "is_starred", "conversation_template_id"):
        if conv.get(key) not in (None, False):
            meta[key] = conv[key]
    first, last = time_bounds(messages)
    source_id = as_str(conv.get("conversation_id")) or as_str(conv.get("id"))
    if source_id is None:
        # 2023 exports have no id: the root node's id is stable across exports.
        source_id = main[0] if main else f"{path.name}#{index}"
    return ParsedChat(
        provider="chatgpt-export",
        source_id=source_id,
        messages=messages,
        title=as_str(conv.get("title")),
        created_at=to_utc(conv.get("create_time")) or first,
        updated_at=to_utc(conv.get("update_time")) or last,
        model=main_model(messages) or as_str(conv.get("default_model_slug")),
        source_path=str(path),
        metadata=meta,
    )


def _newest_leaf(mapping: dict[str, Any]) -> str | None:
    best, best_time = None, -1.0
    for node_id, node in mapping.items():
        if not isinstance(node, dict) or node.get("children"):
            continue
        msg = as_dict(node.get("message"))
        raw = msg.get("create_time")
        t = float(raw) if isinstance(raw, int | float) else 0.0
        if best is None or t >= best_time:
            best, best_time = node_id, t
    return best


def _follow_newest(mapping: dict[str, Any], start: str) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    node_id: str | None = start
    while node_id is not None and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        ids.append(node_id)
        children = [
            c
            for c in as_list(as_dict(mapping[node_id]).get("children"))
            if isinstance(c, str) and c in mapping
        ]
        node_id = children[-1] if children else None
    return ids


def _messages(mapping: dict[str, Any], ids: list[str]) -> list[ParsedMessage]:
    out: list[ParsedMessage] = []
    pending_thinking: list[str] = []
    for node_id in ids:
        node = mapping.get(node_id)
        msg = node.get("message") if isinstance(node, dict) else None
        if not isinstance(msg, dict):
            continue
        author = as_dict(msg.get("author"))
        role = author.get("role")
        content = as_dict(msg.get("content"))
        ctype = content.get("content_type")
        meta = as_dict(msg.get("metadata"))
        ts = to_utc(msg.get("create_time"))
        model = as_str(meta.get("model_slug"))
        if ctype in SKIP_TYPES:
            continue
        if ctype in THINKING_TYPES:
            text = _thoughts(content)
            if text:
                pending_thinking.append(text)
            continue
        text, images = _content_text(content)
        recipient = msg.get("recipient")
        extra: dict[str, Any] = {}
        if images:
            extra["images"] = images
        if role == "assistant" and isinstance(recipient, str) and recipient not in ("all", ""):
            call = ToolCall(name=recipient, id=as_str(msg.get("id")), input=parse_arguments(text))
            out.append(
                ParsedMessage(
                    role="assistant",
                    content="",
                    timestamp=ts,
                    source_id=as_str(msg.get("id")),
                    parent_source_id=as_str(node.get("parent")) if isinstance(node, dict) else None,
                    model=model,
                    thinking="\n\n".join(pending_thinking) or None,
                    tool_calls=[call],
                )
            )
            pending_thinking = []
            continue
        if role == "tool":
            name = as_str(author.get("name"))
            if name:
                extra["tool_name"] = name
            # The output of the call just made, when that call is waiting for one.
            last_call = out[-1].tool_calls[-1] if out and out[-1].tool_calls else None
            if (
                last_call is not None
                and last_call.output is None
                and (name is None or name.startswith(last_call.name.split(".")[0]))
            ):
                last_call.output = text
        if role not in ("system", "user", "assistant", "tool"):
            continue
        if not text and not images and not (role == "assistant" and pending_thinking):
            continue
        if meta.get("is_visually_hidden_from_conversation") and role == "system":
            extra["hidden"] = True
        parsed = ParsedMessage(
            role=role,
            content=text,
            timestamp=ts,
            source_id=as_str(msg.get("id")),
            parent_source_id=as_str(node.get("parent")) if isinstance(node, dict) else None,
            model=model if role == "assistant" else None,
            metadata=extra,
        )
        if role == "assistant" and pending_thinking:
            parsed.thinking = "\n\n".join(pending_thinking)
            pending_thinking = []
        out.append(parsed)
    return out


def _thoughts(content: dict[str, Any]) -> str:
    if content.get("content_type") == "reasoning_recap":
        return text_of(content.get("content"))
    parts = []
    for t in as_list(content.get("thoughts")):
        if isinstance(t, dict):
            summary, body = as_str(t.get("summary")), as_str(t.get("content"))
            parts.append(f"**{summary}**\n{body}" if summary and body else (summary or body or ""))
    return "\n\n".join(p for p in parts if p)


def _content_text(content: dict[str, Any]) -> tuple[str, int]:
    parts = content.get("parts")
    images = 0
    if isinstance(parts, list):
        texts = []
        for part in parts:
            if isinstance(part, str):
                if part:
                    texts.append(part)
            elif isinstance(part, dict):
                if part.get("content_type") == "image_asset_pointer" or "asset_pointer" in part:
                    images += 1
                else:
                    t = text_of(part)
                    if t:
                        texts.append(t)
        return "\n\n".join(texts), images
    for key in ("text", "result"):
        if isinstance(content.get(key), str):
            return content[key], 0
    return text_of(content.get("content")), 0


source = ChatGptExportSource()

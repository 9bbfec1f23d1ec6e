"""claude.ai data export: conversations.json (a list of {uuid, name, summary, created_at, updated_at,
chat_messages[...]}) with projects.json beside it (project names become workspace_name);
users.json and memories.json are not chats and are ignored.

Each chat message has sender human/assistant, created_at, a flattened `text` and `content` blocks
(text, thinking, tool_use, tool_result, token_budget); the blocks win over `text` when present. Tool
results fold into the assistant's tool calls. There is no model and no token usage in the export.
Not on disk by default (the export is a zip the user downloads and unpacks): opt-in, scanned only
under configured roots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_list, as_str
from chasm.harvest.sources.toolkit.jsonl import load_json, read_head
from chasm.harvest.sources.toolkit.paths import walk_files
from chasm.harvest.sources.toolkit.timestamps import time_bounds, to_utc
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex, tool_message

ROLE = {"human": "user", "user": "user", "assistant": "assistant"}


class ClaudeAiExportSource:
    name = "claude-ai-export"
    display_name = "Claude.ai export"
    opt_in = True

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return []  # an export lives wherever the user unpacked it: configure its folder

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        def match(path: Path) -> bool:
            return path.name.endswith("conversations.json") and b'"chat_messages"' in read_head(path)

        for path in walk_files(roots, match):
            paths = [path]
            projects = path.with_name(path.name.replace("conversations.json", "projects.json"))
            if projects.exists():
                paths.append(projects)
            yield SourceUnit(key=str(path), paths=paths)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        data, issue = load_json(path)
        if issue is not None:
            return ParseOutcome([], [issue])
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            return ParseOutcome([], [ParseIssue(str(path), "not a claude.ai conversations export")])
        issues: list[ParseIssue] = []
        projects: dict[str, str] = {}
        side = unit.paths[1] if len(unit.paths) > 1 else None
        if side is not None:
            pdata, pissue = load_json(side)
            if pissue is not None:
                issues.append(pissue)
            elif isinstance(pdata, list):
                projects = {
                    str(p["uuid"]): str(p.get("name") or "")
                    for p in pdata
                    if isinstance(p, dict) and p.get("uuid")
                }
        chats: list[ParsedChat] = []
        for index, conv in enumerate(data):
            if not isinstance(conv, dict) or not isinstance(conv.get("chat_messages"), list):
                issues.append(ParseIssue(str(path), f"conversation {index} has no chat_messages"))
                continue
            try:
                chat = _conversation(path, conv, projects)
            except Exception as exc:
                issues.append(ParseIssue(str(path), f"conversation {index}: {type(exc).__name__}: {exc}"))
                continue
            if chat is not None:
                chats.append(chat)
        return ParseOutcome(chats, issues)


def _conversation(path: Path, conv: dict[str, Any], projects: dict[str, str]) -> ParsedChat | None:
    messages: list[ParsedMessage] = []
    tools = ToolCallIndex()
    for raw in conv["chat_messages"]:
        if not isinstance(raw, dict):
            continue
        role = ROLE.get(str(raw.get("sender")))
        if role is None:
            continue
        ts = to_utc(raw.get("created_at"))
        blocks = read_blocks(raw.get("content")) if raw.get("content") else read_blocks(raw.get("text") or "")
        for tool_id, output, is_error in blocks.results:
            if not tools.resolve(tool_id, output, is_error):
                messages.append(tool_message(tool_id, output, is_error, ts))
        for call in blocks.tool_calls:
            tools.add(call)
        extra: dict[str, Any] = {}
        files = [
            a.get("file_name")
            for a in as_list(raw.get("attachments")) + as_list(raw.get("files"))
            if isinstance(a, dict)
        ]
        if any(files):
            extra["files"] = [f for f in files if f]
        if not (blocks.text or blocks.thinking or blocks.tool_calls or extra):
            continue
        messages.append(
            ParsedMessage(
                role=role,
                content=blocks.text,
                timestamp=ts,
                source_id=as_str(raw.get("uuid")),
                parent_source_id=as_str(raw.get("parent_message_uuid")),
                thinking="\n\n".join(blocks.thinking) or None,
                tool_calls=list(blocks.tool_calls),
                metadata=extra,
            )
        )
    if not messages:
        return None
    workspace_name = None
    project = conv.get("project")
    if isinstance(project, dict):
        workspace_name = as_str(project.get("name")) or projects.get(str(project.get("uuid")))
    if workspace_name is None and conv.get("project_uuid"):
        workspace_name = projects.get(str(conv["project_uuid"])) or None
    meta: dict[str, Any] = {}
    if as_str(conv.get("summary")):
        meta["summary"] = conv["summary"]
    first, last = time_bounds(messages)
    return ParsedChat(
        provider="claude-ai-export",
        source_id=str(conv.get("uuid") or f"{path}#{conv.get('name')}"),
        messages=messages,
        title=as_str(conv.get("name")),
        workspace_name=workspace_name,
        created_at=to_utc(conv.get("created_at")) or first,
        updated_at=to_utc(conv.get("updated_at")) or last,
        source_path=str(path),
        metadata=meta,
    )


source = ClaudeAiExportSource()

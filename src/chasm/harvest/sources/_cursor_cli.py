"""Cursor CLI (`cursor-agent`): `~/.cursor/chats/<md5(cwd)>/<agentId>/store.db` and the agent
transcripts `~/.cursor/projects/<slug>/agent-transcripts/<id>.jsonl`."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chasm.harvest.model import ParsedChat, ParsedMessage, ParseIssue, ParseOutcome
from chasm.harvest.sources.toolkit.blocks import read_blocks
from chasm.harvest.sources.toolkit.coercion import as_dict, as_str
from chasm.harvest.sources.toolkit.jsonl import loads, read_jsonl
from chasm.harvest.sources.toolkit.sqlite_readonly import open_sqlite_readonly, sqlite_tables
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.toolcalls import ToolCallIndex

_USER_QUERY = re.compile(r"^\s*<user_query>\s*(.*?)\s*</user_query>\s*$", re.DOTALL)


def _user_text(text: str) -> str:
    """Cursor wraps the typed prompt in <user_query>; show what the user typed."""
    match = _USER_QUERY.match(text)
    return match.group(1) if match else text


class _Builder:
    """Messages from role/content records, results attached to the calls they answer."""

    def __init__(self) -> None:
        self.messages: list[ParsedMessage] = []
        self.tools = ToolCallIndex()

    def add(self, role: str, content: Any, source_id: str | None = None, model: str | None = None) -> None:
        blocks = read_blocks(content)
        for call_id, output, is_error in blocks.results:
            if self.tools.resolve(call_id, output, is_error) is None:
                self.messages.append(
                    ParsedMessage(role="tool", content=output or "", metadata={"tool_call_id": call_id})
                )
        text = "\n\n".join(t for t in blocks.texts if t)
        if role == "user":
            if text:
                self.messages.append(
                    ParsedMessage(role="user", content=_user_text(text), source_id=source_id)
                )
            return
        if role == "tool":
            if text and self.tools.resolve(None, text) is None:
                self.messages.append(ParsedMessage(role="tool", content=text, source_id=source_id))
            return
        if role != "assistant":
            return
        for call in blocks.tool_calls:
            self.tools.add(call)
        if text or blocks.tool_calls or blocks.thinking:
            self.messages.append(
                ParsedMessage(
                    role="assistant",
                    content=text,
                    source_id=source_id,
                    model=model,
                    thinking="\n\n".join(blocks.thinking) or None,
                    tool_calls=blocks.tool_calls,
                )
            )


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        return None


def parse_transcript(path: Path, provider: str) -> ParseOutcome:
    issues: list[ParseIssue] = []
    builder = _Builder()
    chunk = read_jsonl(path)
    if chunk.failed:
        return ParseOutcome(chats=[], issues=chunk.issues)
    for line, record in chunk.records:
        role = record.get("role")
        if not isinstance(role, str):
            issues.append(ParseIssue(str(path), "record without a role", line))
            continue
        builder.add(role, as_dict(record.get("message")).get("content"))
    issues = sorted([*chunk.issues, *issues], key=lambda issue: issue.line or 0)
    if not builder.messages:
        return ParseOutcome(chats=[], issues=issues)
    project = path.parent.parent.name if path.parent.name == "agent-transcripts" else None
    first_user = next((m.content for m in builder.messages if m.role == "user"), None)
    chat = ParsedChat(
        provider=provider,
        source_id=path.stem,
        messages=builder.messages,
        title=title_from(first_user),
        workspace_name=project,
        updated_at=_mtime(path),
        source_path=str(path),
        metadata={"format": "agent-transcript"},
    )
    return ParseOutcome(chats=[chat], issues=issues)


def _decode_meta(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return {}
    text = value.strip()
    try:
        if text[:1] != "{":
            text = bytes.fromhex(text).decode("utf-8")
        return as_dict(loads(text))
    except ValueError:
        return {}


def parse_store(path: Path, provider: str) -> ParseOutcome:
    issues: list[ParseIssue] = []
    try:
        conn = open_sqlite_readonly(path)
    except sqlite3.Error as exc:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), f"cannot open database: {exc}")])
    try:
        tables = sqlite_tables(conn)
        if "meta" not in tables and "blobs" not in tables:
            return ParseOutcome(chats=[], issues=[ParseIssue(str(path), "not a Cursor chat store")])
        meta: dict[str, Any] = {}
        if "meta" in tables:
            for _key, value in conn.execute("SELECT key, value FROM meta"):
                meta.update(_decode_meta(value))
        model = as_str(meta.get("lastUsedModel"))
        builder = _Builder()
        if "blobs" in tables:
            for blob_id, data in conn.execute("SELECT id, data FROM blobs ORDER BY rowid"):
                record = _json_blob(data)
                if record is None or not isinstance(record.get("role"), str):
                    continue  # tree nodes and other binary blobs
                builder.add(record["role"], record.get("content"), as_str(blob_id), model)
    except sqlite3.Error as exc:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), f"cannot read database: {exc}")])
    finally:
        conn.close()
    agent_id = as_str(meta.get("agentId")) or path.parent.name
    if not meta and not builder.messages:
        return ParseOutcome(chats=[], issues=issues)
    first_user = next((m.content for m in builder.messages if m.role == "user"), None)
    chat = ParsedChat(
        provider=provider,
        source_id=agent_id,
        messages=builder.messages,
        title=as_str(meta.get("name")) or title_from(first_user),
        created_at=to_utc(meta.get("createdAt")),
        updated_at=_mtime(path),
        model=model,
        source_path=str(path),
        metadata={k: meta[k] for k in ("mode",) if k in meta} | {"format": "cli-store"},
    )
    return ParseOutcome(chats=[chat], issues=issues)


def _json_blob(data: Any) -> dict[str, Any] | None:
    if isinstance(data, memoryview):
        data = bytes(data)
    if isinstance(data, bytes):
        if data.lstrip()[:1] != b"{":
            return None
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(data, str):
        return None
    try:
        value = loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

"""OpenCode: `$XDG_DATA_HOME/opencode` (`~/.local/share/opencode` everywhere). Newer versions keep
`opencode.db` (SQLite: session, message, part; read-only here); older ones a JSON tree
`storage/session/<project>/<id>.json`, `storage/message/<sessionId>/<msgId>.json`,
`storage/part/<msgId>/<partId>.json`. One unit per database, or per session of the tree."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
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
from chasm.harvest.sources.toolkit.coercion import as_dict, as_int, as_str, output_text
from chasm.harvest.sources.toolkit.jsonl import loads, read_json
from chasm.harvest.sources.toolkit.paths import data_home, is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.sqlite_readonly import open_sqlite_readonly, sqlite_tables
from chasm.harvest.sources.toolkit.timestamps import to_utc
from chasm.harvest.sources.toolkit.titles import title_from
from chasm.harvest.sources.toolkit.usage import usage_or_none


def _is_database(path: Path) -> bool:
    return path.suffix == ".db" and path.name.startswith("opencode")


def _usage(tokens: dict[str, Any]) -> TokenUsage:
    cache = as_dict(tokens.get("cache"))
    return TokenUsage(
        input_tokens=as_int(tokens.get("input")),
        output_tokens=as_int(tokens.get("output")),
        reasoning_tokens=as_int(tokens.get("reasoning")),
        cache_read_tokens=as_int(cache.get("read")),
        cache_write_tokens=as_int(cache.get("write")),
    )


def build_message(
    info: dict[str, Any], parts: list[dict[str, Any]], message_id: str | None
) -> ParsedMessage | None:
    role = info.get("role")
    if role not in ("user", "assistant"):
        return None
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    files: list[str] = []
    step_usage = TokenUsage()
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            value = part.get("text")
            # Synthetic parts are what OpenCode itself inserted, not what anyone wrote.
            if isinstance(value, str) and value and not part.get("synthetic"):
                text.append(value)
        elif kind == "reasoning":
            value = part.get("text")
            if isinstance(value, str) and value:
                thinking.append(value)
        elif kind == "tool":
            state = as_dict(part.get("state"))
            status = state.get("status")
            output = state.get("output") if status != "error" else state.get("error", state.get("output"))
            calls.append(
                ToolCall(
                    name=as_str(part.get("tool")) or "tool",
                    id=as_str(part.get("callID")),
                    input=state.get("input"),
                    output=output_text(output) if output is not None else None,
                    is_error=status == "error",
                )
            )
        elif kind == "file":
            name = as_str(part.get("filename")) or as_str(part.get("url"))
            if name:
                files.append(name)
        elif kind == "step-finish":
            tokens = _usage(as_dict(part.get("tokens")))
            step_usage.input_tokens += tokens.input_tokens
            step_usage.output_tokens += tokens.output_tokens
            step_usage.reasoning_tokens += tokens.reasoning_tokens
            step_usage.cache_read_tokens += tokens.cache_read_tokens
            step_usage.cache_write_tokens += tokens.cache_write_tokens
    model_info = as_dict(info.get("model"))
    model = as_str(info.get("modelID")) or as_str(model_info.get("modelID"))
    provider = as_str(info.get("providerID")) or as_str(model_info.get("providerID"))
    metadata: dict[str, Any] = {}
    if provider and role == "assistant":
        metadata["provider"] = provider
    if files:
        metadata["files"] = files
    if isinstance(info.get("cost"), int | float) and info["cost"]:
        metadata["cost"] = info["cost"]
    error = as_dict(info.get("error"))
    if error:
        metadata["error"] = as_str(as_dict(error.get("data")).get("message")) or error.get("name")
    usage = _usage(as_dict(info.get("tokens"))) if "tokens" in info else step_usage
    return ParsedMessage(
        role=role,
        content="\n\n".join(text),
        timestamp=to_utc(as_dict(info.get("time")).get("created")),
        source_id=message_id or as_str(info.get("id")),
        parent_source_id=as_str(info.get("parentID")),
        model=model if role == "assistant" else None,
        thinking="\n\n".join(thinking) or None,
        tool_calls=calls,
        usage=usage_or_none(usage) if role == "assistant" else None,
        metadata=metadata,
    )


def build_chat(
    session_id: str, session: dict[str, Any], messages: list[ParsedMessage], cwd: str | None, source_path: str
) -> ParsedChat:
    models = Counter(m.model for m in messages if m.model)
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    times = as_dict(session.get("time"))
    first_user = next((m.content for m in messages if m.role == "user" and m.content), None)
    metadata: dict[str, Any] = {}
    for key in ("version", "projectID", "slug"):
        if isinstance(session.get(key), str):
            metadata[key] = session[key]
    return ParsedChat(
        provider="opencode",
        source_id=session_id,
        messages=messages,
        title=as_str(session.get("title")) or title_from(first_user),
        workspace_path=as_str(session.get("directory")) or cwd,
        created_at=to_utc(times.get("created")) or (min(stamps) if stamps else None),
        updated_at=to_utc(times.get("updated")) or (max(stamps) if stamps else None),
        model=models.most_common(1)[0][0] if models else None,
        parent_source_id=as_str(session.get("parentID")),
        source_path=source_path,
        metadata=metadata,
    )


def _message_cwd(info: dict[str, Any]) -> str | None:
    path = info.get("path")
    if isinstance(path, dict):
        return as_str(path.get("cwd"))
    return as_str(path)


# --- SQLite -------------------------------------------------------------------------------------


def _rows(conn: sqlite3.Connection, sql: str) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def _loads(value: Any, where: str, issues: list[ParseIssue], path: Path) -> dict[str, Any] | None:
    try:
        data = loads(value)
    except (TypeError, ValueError):
        issues.append(ParseIssue(str(path), f"{where}: data is not JSON"))
        return None
    if not isinstance(data, dict):
        issues.append(ParseIssue(str(path), f"{where}: data is not an object"))
        return None
    return data


def parse_database(path: Path) -> ParseOutcome:
    issues: list[ParseIssue] = []
    try:
        conn = open_sqlite_readonly(path)
        tables = sqlite_tables(conn)
    except sqlite3.Error as exc:
        return ParseOutcome(
            chats=[], issues=[ParseIssue(str(path), f"not a readable SQLite database: {exc}")]
        )
    try:
        if "message" not in tables:
            return ParseOutcome(
                chats=[], issues=[ParseIssue(str(path), "no message table: not an OpenCode database")]
            )
        sessions: dict[str, dict[str, Any]] = {}
        if "session" in tables:
            for row in _rows(conn, "SELECT * FROM session"):
                sessions[str(row["id"])] = {
                    "title": row.get("title"),
                    "directory": row.get("directory"),
                    "parentID": row.get("parent_id"),
                    "version": row.get("version"),
                    "projectID": row.get("project_id"),
                    "slug": row.get("slug"),
                    "time": {"created": row.get("time_created"), "updated": row.get("time_updated")},
                }
        parts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if "part" in tables:
            for row in _rows(conn, "SELECT id, message_id, data FROM part ORDER BY message_id, id"):
                data = _loads(row["data"], f"part {row['id']}", issues, path)
                if data is not None:
                    parts[str(row["message_id"])].append(data)
        by_session: dict[str, list[ParsedMessage]] = defaultdict(list)
        cwd: dict[str, str] = {}
        for row in _rows(
            conn,
            "SELECT id, session_id, time_created, data FROM message ORDER BY session_id, time_created, id",
        ):
            info = _loads(row["data"], f"message {row['id']}", issues, path)
            if info is None:
                continue
            info.setdefault("time", {"created": row["time_created"]})
            session_id = str(row["session_id"])
            message = build_message(info, parts.get(str(row["id"]), []), str(row["id"]))
            if message is not None:
                by_session[session_id].append(message)
            folder = _message_cwd(info)
            if folder:
                cwd.setdefault(session_id, folder)
    except sqlite3.Error as exc:
        return ParseOutcome(chats=[], issues=[*issues, ParseIssue(str(path), f"cannot read database: {exc}")])
    finally:
        conn.close()
    chats = [
        build_chat(session_id, sessions.get(session_id, {}), messages, cwd.get(session_id), str(path))
        for session_id, messages in by_session.items()
    ]
    return ParseOutcome(chats=chats, issues=issues)


# --- JSON storage tree --------------------------------------------------------------------------


def _storage(root: Path) -> Path | None:
    if is_dir(root / "storage"):
        return root / "storage"
    if is_dir(root / "message") or is_dir(root / "session"):
        return root
    return None


def _tree_units(storage: Path) -> Iterator[SourceUnit]:
    """One unit per `message/<sessionId>` folder: its session file, messages and their parts."""
    session_files: dict[str, Path] = {}
    for project in list_dir(storage / "session"):
        for path in list_dir(project):
            if path.suffix == ".json":
                session_files[path.stem] = path
    message_root = storage / "message"
    for folder in list_dir(message_root):
        if not is_dir(folder):
            continue
        session_id = folder.name
        session_file = session_files.get(session_id) or session_files.get(f"ses_{session_id}")
        paths: list[Path] = [session_file] if session_file is not None else []
        messages = [p for p in list_dir(folder) if p.suffix == ".json"]
        for message in messages:
            paths.append(message)
            parts = storage / "part" / _message_id(message)
            paths.extend(p for p in list_dir(parts) if p.suffix == ".json")
        if messages:
            yield SourceUnit(key=str(folder), paths=paths)


def _message_id(path: Path) -> str:
    """A message's parts live under its id, which is normally the file name."""
    if is_dir(path.parent.parent.parent / "part" / path.stem):
        return path.stem
    try:
        info = loads(path.read_bytes())
    except (OSError, ValueError):
        return path.stem
    return as_str(as_dict(info).get("id")) or path.stem


def parse_tree_session(unit: SourceUnit) -> ParseOutcome:
    issues: list[ParseIssue] = []
    session_dir = Path(unit.key)
    storage = session_dir.parent.parent
    session: dict[str, Any] = {}
    infos: list[tuple[Path, dict[str, Any]]] = []
    for path in unit.paths:
        if path.parent.parent.name == "session":
            session = as_dict(read_json(path, issues))
        elif path.parent == session_dir:
            info = read_json(path, issues)
            if isinstance(info, dict):
                infos.append((path, info))
            elif info is not None:
                issues.append(ParseIssue(str(path), "message is not an object"))
    infos.sort(key=lambda item: (as_int(as_dict(item[1].get("time")).get("created")), item[0].name))
    messages: list[ParsedMessage] = []
    cwd: str | None = None
    for path, info in infos:
        message_id = as_str(info.get("id")) or path.stem
        part_dir = storage / "part" / message_id
        if not is_dir(part_dir):
            part_dir = storage / "part" / path.stem
        parts = []
        for part_path in list_dir(part_dir):
            if part_path.suffix != ".json":
                continue
            part = read_json(part_path, issues)
            if isinstance(part, dict):
                parts.append((part_path.name, part))
        parts.sort(key=lambda item: (str(item[1].get("id") or ""), item[0]))
        message = build_message(info, [p for _name, p in parts], message_id)
        if message is not None:
            messages.append(message)
        cwd = cwd or _message_cwd(info)
    if not messages:
        return ParseOutcome(chats=[], issues=issues)
    session_id = as_str(session.get("id")) or session_dir.name
    return ParseOutcome(
        chats=[build_chat(session_id, session, messages, cwd, str(session_dir))], issues=issues
    )


class OpenCodeSource:
    name = "opencode"
    display_name = "OpenCode"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return [data_home(platform, home, env) / "opencode"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for unit in self._units(root):
                if unit.key not in seen:
                    seen.add(unit.key)
                    yield unit

    def _units(self, root: Path) -> Iterator[SourceUnit]:
        if is_file(root):
            if root.suffix == ".db":
                yield SourceUnit(key=str(root), paths=[root])
            return
        for path in list_dir(root):
            if _is_database(path) and is_file(path):
                yield SourceUnit(key=str(path), paths=[path])
        storage = _storage(root)
        if storage is not None:
            yield from _tree_units(storage)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        if unit.paths and unit.paths[0].suffix == ".db":
            return parse_database(unit.paths[0])
        return parse_tree_session(unit)


source = OpenCodeSource()

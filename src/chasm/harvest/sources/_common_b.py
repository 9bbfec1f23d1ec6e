"""Helpers shared by the editor-extension sources (Copilot, Cursor, Cline, Roo, Continue, OpenCode,
Windsurf): timestamps, JSON/JSONL reading that never raises, read-only SQLite, VS Code folders."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import orjson

from chasm.harvest.model import ParseIssue, TokenUsage, ToolCall

# Epoch values above this are milliseconds (year 2286 in seconds), above MICRO microseconds.
_MS_THRESHOLD = 10_000_000_000
_US_THRESHOLD = 10_000_000_000_000_000


def loads(data: bytes | str) -> Any:
    """JSON via orjson; the standard parser only for what orjson refuses (NaN, huge integers).
    Raises ValueError for text that is not JSON."""
    if not isinstance(data, bytes | str):
        raise ValueError(f"expected JSON text, got {type(data).__name__}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def to_utc(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds/ms/us (number or digit string) or an ISO string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            if text.lstrip("-").replace(".", "", 1).isdigit():
                return to_utc(float(text))
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        number = float(value)
        if number <= 0:
            return None
        if number > _US_THRESHOLD:
            number /= 1_000_000
        elif number > _MS_THRESHOLD:
            number /= 1000
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return 0
    return 0


def str_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    return None


def json_or_text(value: Any) -> Any:
    """Tool arguments: a JSON string becomes its object; anything else is kept as it is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return loads(text)
            except ValueError:
                return value
    return value


def output_text(value: Any) -> str | None:
    """Tool output in whatever shape a tool stored it, as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        pieces = [p for p in (output_text(item) for item in value) if p]
        return "\n".join(pieces)
    if isinstance(value, dict):
        for key in ("text", "content", "contents", "output", "value", "result"):
            if key in value:
                text = output_text(value[key])
                if text is not None:
                    return text
    return json.dumps(value, ensure_ascii=False)


def usage_or_none(usage: TokenUsage) -> TokenUsage | None:
    return usage if usage.total or usage.reasoning_tokens else None


def read_json(path: Path, issues: list[ParseIssue]) -> Any:
    """The file's JSON, or None with an issue when it cannot be read or parsed."""
    try:
        with open(path, "rb") as handle:
            return loads(handle.read())
    except (OSError, ValueError) as exc:
        issues.append(ParseIssue(str(path), f"unreadable JSON: {exc}"))
        return None


@dataclass
class JsonLine:
    line: int  # 1-based line number in the file
    end: int  # byte offset just after this line
    value: Any  # the decoded object, or None when `error` is set
    error: str | None = None


def iter_jsonl(path: Path, offset: int = 0, first_line: int = 1) -> Iterator[JsonLine]:
    """Complete lines (newline-terminated) of a JSONL file from `offset`; a last line without a
    newline is still being written and is left for the next read. Blank lines are skipped."""
    with open(path, "rb") as handle:
        if offset:
            handle.seek(offset)
        data = handle.read()
    position = offset
    line_no = first_line
    start = 0
    size = len(data)
    while start < size:
        newline = data.find(b"\n", start)
        if newline == -1:
            break
        raw = data[start:newline]
        position = offset + newline + 1
        if raw.strip():
            try:
                yield JsonLine(line_no, position, loads(raw))
            except ValueError as exc:
                yield JsonLine(line_no, position, None, f"invalid JSON: {exc}")
        start = newline + 1
        line_no += 1
    if start < size and data[start:].strip():
        # A final line without newline: parse it when complete JSON (files written at once).
        raw = data[start:]
        try:
            value = loads(raw)
        except ValueError:
            return
        yield JsonLine(line_no, offset + size, value)


def open_sqlite_readonly(path: Path) -> sqlite3.Connection:
    """Open a tool's database without ever locking or writing it."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def open_state_db(path: Path) -> tuple[sqlite3.Connection | None, set[str], str | None]:
    """A VS Code-family `state.vscdb` (read-only): the connection and its tables, or an error."""
    try:
        conn = open_sqlite_readonly(path)
        return conn, sqlite_tables(conn), None
    except sqlite3.Error as exc:
        return None, set(), f"not a readable SQLite database: {exc}"


def item(conn: sqlite3.Connection, key: str) -> Any:
    """The JSON value of one `ItemTable` key, or None."""
    row = conn.execute("SELECT value FROM ItemTable WHERE key = ?", (key,)).fetchone()
    return decode_blob(row[0]) if row else None


def decode_blob(value: Any) -> Any:
    """A JSON value stored as TEXT or BLOB in a key-value table; None when not JSON."""
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    try:
        return loads(value)
    except ValueError:
        return None


def file_uri_to_path(uri: str | None) -> str | None:
    """`file:///home/me/p%20x` → `/home/me/p x`; `file:///c%3A/x` → `c:/x`; other schemes → None."""
    if not uri:
        return None
    if "://" not in uri:
        return uri
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if len(path) >= 3 and path[0] == "/" and path[2] == ":":
        path = path[1:]
    if parsed.netloc:
        path = f"//{parsed.netloc}{path}"
    return path or None


def workspace_folder(workspace_json: Path) -> str | None:
    """The project folder a VS Code-family `workspaceStorage/<hash>/workspace.json` points at."""
    try:
        with open(workspace_json, "rb") as handle:
            data = loads(handle.read())
    except (OSError, ValueError):
        return None
    data = as_dict(data)
    return file_uri_to_path(str_or_none(data.get("folder")) or str_or_none(data.get("workspace")))


def config_home(platform: str, home: Path, env: Mapping[str, str]) -> Path:
    """Where VS Code-family editors keep `<App>/User` on each platform."""
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform == "win32":
        appdata = env.get("APPDATA")
        return Path(appdata) if appdata else home / "AppData" / "Roaming"
    xdg = env.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else home / ".config"


def data_home(platform: str, home: Path, env: Mapping[str, str]) -> Path:
    """XDG data home (tools like OpenCode use it on every platform)."""
    xdg = env.get("XDG_DATA_HOME")
    return Path(xdg) if xdg else home / ".local" / "share"


VSCODE_APPS = ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf")


def vscode_user_dirs(
    platform: str, home: Path, env: Mapping[str, str], apps: tuple[str, ...] = VSCODE_APPS
) -> list[Path]:
    base = config_home(platform, home, env)
    return [base / app / "User" for app in apps]


def list_dir(path: Path) -> list[Path]:
    """Entries of a folder, sorted; [] when it is missing or unreadable."""
    try:
        with os.scandir(path) as entries:
            return sorted(Path(entry.path) for entry in entries)
    except OSError:
        return []


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def workspace_storage_dirs(root: Path) -> list[Path]:
    """The `workspaceStorage/<hash>` folders under a root that is a `User` folder, the
    `workspaceStorage` folder itself, or one `<hash>` folder."""
    if is_dir(root / "workspaceStorage"):
        return [p for p in list_dir(root / "workspaceStorage") if is_dir(p)]
    if root.name == "workspaceStorage":
        return [p for p in list_dir(root) if is_dir(p)]
    return [root] if is_dir(root) else []


class ToolCallIndex:
    """Tool calls by id, to attach results that arrive later; calls without a matching id are
    resolved in order of appearance."""

    def __init__(self) -> None:
        self._by_id: dict[str, ToolCall] = {}
        self._pending: deque[ToolCall] = deque()  # every call, oldest first
        self._pending_anonymous: deque[ToolCall] = deque()  # calls without an id
        self._resolved: set[int] = set()

    def add(self, call: ToolCall) -> None:
        if call.id:
            self._by_id[call.id] = call
        else:
            self._pending_anonymous.append(call)
        self._pending.append(call)

    def get(self, call_id: str | None) -> ToolCall | None:
        return self._by_id.get(call_id) if call_id else None

    def resolve(self, call_id: str | None, output: str | None, is_error: bool = False) -> ToolCall | None:
        """Attach a result; the call it went to, or None when no call is waiting for it. A result
        that names an unknown id only goes to a call that has no id of its own."""
        call = self.get(call_id)
        if call is None:
            call = self._oldest(self._pending if call_id is None else self._pending_anonymous)
        if call is None:
            return None
        call.output = output
        call.is_error = is_error
        self._resolved.add(id(call))
        return call

    def unresolved_ids(self) -> list[str]:
        return [c.id for c in self._pending if c.id and id(c) not in self._resolved]

    def _oldest(self, queue: deque[ToolCall]) -> ToolCall | None:
        while queue and id(queue[0]) in self._resolved:
            queue.popleft()
        return queue[0] if queue else None


@dataclass
class Blocks:
    """An Anthropic-style content list, sorted into what a message shows."""

    text: list[str]
    thinking: list[str]
    tool_calls: list[ToolCall]
    tool_results: list[tuple[str | None, str | None, bool]]  # (tool_use_id, output, is_error)


def split_blocks(content: Any) -> Blocks:
    """Sort `[{type: text|thinking|tool_use|tool_result|…}]` (or a plain string) into parts;
    also accepts the AI SDK names `tool-call`/`tool-result`/`reasoning`."""
    blocks = Blocks([], [], [], [])
    if isinstance(content, str):
        blocks.text.append(content)
        return blocks
    for block in as_list(content):
        if isinstance(block, str):
            blocks.text.append(block)
            continue
        block = as_dict(block)
        kind = block.get("type")
        if kind in ("text", "input_text", "output_text"):
            text = block.get("text")
            if isinstance(text, str):
                blocks.text.append(text)
        elif kind in ("thinking", "reasoning", "redacted_thinking"):
            text = block.get("thinking") if kind == "thinking" else block.get("text")
            if isinstance(text, str) and text:
                blocks.thinking.append(text)
        elif kind in ("tool_use", "tool-call", "server_tool_use"):
            name = str_or_none(block.get("name")) or str_or_none(block.get("toolName")) or "tool"
            call_id = str_or_none(block.get("id")) or str_or_none(block.get("toolCallId"))
            raw_input = block["input"] if "input" in block else block.get("args")
            blocks.tool_calls.append(ToolCall(name=name, id=call_id, input=json_or_text(raw_input)))
        elif kind in ("tool_result", "tool-result"):
            call_id = str_or_none(block.get("tool_use_id")) or str_or_none(block.get("toolCallId"))
            raw = block["content"] if "content" in block else block.get("result", block.get("output"))
            blocks.tool_results.append((call_id, output_text(raw), bool(block.get("is_error"))))
    return blocks

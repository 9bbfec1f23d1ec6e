"""VS Code-family editors (Code, Insiders, VSCodium, Cursor, Windsurf): their `User` folders, the
`workspaceStorage/<hash>` folders and the `state.vscdb` key-value databases in them."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from chasm.harvest.sources.toolkit.coercion import as_dict, as_str
from chasm.harvest.sources.toolkit.jsonl import loads
from chasm.harvest.sources.toolkit.paths import config_home, is_dir, list_dir
from chasm.harvest.sources.toolkit.sqlite_readonly import decode_blob, open_sqlite_readonly, sqlite_tables

VSCODE_APPS = ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf")


def vscode_user_dirs(
    platform: str, home: Path, env: Mapping[str, str], apps: tuple[str, ...] = VSCODE_APPS
) -> list[Path]:
    base = config_home(platform, home, env)
    return [base / app / "User" for app in apps]


def workspace_storage_dirs(root: Path) -> list[Path]:
    """The `workspaceStorage/<hash>` folders under a root that is a `User` folder, the
    `workspaceStorage` folder itself, or one `<hash>` folder."""
    if is_dir(root / "workspaceStorage"):
        return [p for p in list_dir(root / "workspaceStorage") if is_dir(p)]
    if root.name == "workspaceStorage":
        return [p for p in list_dir(root) if is_dir(p)]
    return [root] if is_dir(root) else []


def open_state_db(path: Path) -> tuple[sqlite3.Connection | None, set[str], str | None]:
    """A `state.vscdb` (read-only): the connection and its tables, or an error."""
    try:
        conn = open_sqlite_readonly(path)
        return conn, sqlite_tables(conn), None
    except sqlite3.Error as exc:
        return None, set(), f"not a readable SQLite database: {exc}"


def item(conn: sqlite3.Connection, key: str) -> Any:
    """The JSON value of one `ItemTable` key, or None."""
    row = conn.execute("SELECT value FROM ItemTable WHERE key = ?", (key,)).fetchone()
    return decode_blob(row[0]) if row else None


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
    """The project folder a `workspaceStorage/<hash>/workspace.json` points at."""
    try:
        with open(workspace_json, "rb") as handle:
            data = loads(handle.read())
    except (OSError, ValueError):
        return None
    data = as_dict(data)
    return file_uri_to_path(as_str(data.get("folder")) or as_str(data.get("workspace")))

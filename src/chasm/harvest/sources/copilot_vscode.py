"""GitHub Copilot Chat in VS Code (also VS Code Insiders and VSCodium).

Units: `User/workspaceStorage/<hash>/chatSessions/<id>.json|.jsonl`, chats opened without a folder
in `User/globalStorage/emptyWindowChatSessions/`, and the agent event logs in
`workspaceStorage/<hash>/GitHub.copilot-chat/transcripts/<id>.jsonl` (only where no chatSessions
file holds the same session, so that one session is one chat).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from chasm.harvest.model import ParseIssue, ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources._copilot_events import parse_event_log
from chasm.harvest.sources._vscode_chat import load_session, session_to_chat, sessions_in_state_db
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.vscode_storage import (
    item,
    open_state_db,
    vscode_user_dirs,
    workspace_folder,
    workspace_storage_dirs,
)

APPS = ("Code", "Code - Insiders", "VSCodium")
_SESSION_SUFFIXES = (".json", ".jsonl")
_TRANSCRIPTS = ("GitHub.copilot-chat", "transcripts")


def _session_files(folder: Path) -> list[Path]:
    return [p for p in list_dir(folder) if p.suffix in _SESSION_SUFFIXES and is_file(p)]


def _is_event_log(path: Path) -> bool:
    """A transcripts event log, not a chatSessions mutation log (whose lines start with "kind")."""
    if path.suffix != ".jsonl":
        return False
    if path.parent.name == "transcripts":
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return bool(head) and not head.startswith(b'{"kind"')


def _parse_state_db(path: Path, provider: str) -> ParseOutcome:
    conn, tables, error = open_state_db(path)
    if conn is None:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), error or "cannot open")])
    try:
        rows = item(conn, "interactive.sessions") if "ItemTable" in tables else None
    except sqlite3.Error as exc:
        return ParseOutcome(chats=[], issues=[ParseIssue(str(path), f"cannot read database: {exc}")])
    finally:
        conn.close()
    folder = workspace_folder(path.parent / "workspace.json")
    return ParseOutcome(chats=sessions_in_state_db(rows, provider, path.parent.name, str(path), folder))


class CopilotVSCodeSource:
    name = "copilot-vscode"
    display_name = "GitHub Copilot (VS Code)"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return vscode_user_dirs(platform, home, env, APPS)

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for unit in self._units(root):
                if unit.key not in seen:
                    seen.add(unit.key)
                    yield unit

    def _units(self, root: Path) -> Iterator[SourceUnit]:
        if is_file(root):
            if root.suffix in _SESSION_SUFFIXES:
                resumable = root.parent.name == "transcripts"
                yield SourceUnit(key=str(root), paths=[root], resumable=resumable)
            return
        if root.name in ("chatSessions", "emptyWindowChatSessions"):
            yield from self._folder_units(root.parent if root.name == "chatSessions" else None, root)
            return
        if root.name == "transcripts":
            for path in _session_files(root):
                yield SourceUnit(key=str(path), paths=[path], resumable=True)
            return
        empty = root / "globalStorage" / "emptyWindowChatSessions"
        if is_dir(empty):
            yield from self._folder_units(None, empty)
        for workspace in workspace_storage_dirs(root):
            yield from self._workspace_units(workspace)

    def _folder_units(self, workspace: Path | None, folder: Path) -> Iterator[SourceUnit]:
        side = [workspace / "workspace.json"] if workspace and is_file(workspace / "workspace.json") else []
        # When both a .json and a .jsonl exist (VS Code migrating), the log is the newer one.
        files = _session_files(folder)
        logs = {p.stem for p in files if p.suffix == ".jsonl"}
        for path in files:
            if path.suffix == ".json" and path.stem in logs:
                continue
            yield SourceUnit(key=str(path), paths=[path, *side])

    def _workspace_units(self, workspace: Path) -> Iterator[SourceUnit]:
        sessions = workspace / "chatSessions"
        known: set[str] = set()
        if is_dir(sessions):
            for unit in self._folder_units(workspace, sessions):
                known.add(unit.paths[0].stem)
                yield unit
        legacy = workspace / "state.vscdb"
        if not known and is_file(legacy):
            # VS Code before chatSessions files kept the sessions in the workspace database.
            side = [workspace / "workspace.json"] if is_file(workspace / "workspace.json") else []
            yield SourceUnit(key=str(legacy), paths=[legacy, *side])
        transcripts = workspace.joinpath(*_TRANSCRIPTS)
        if is_dir(transcripts):
            for path in _session_files(transcripts):
                if path.suffix == ".jsonl" and path.stem not in known:
                    side = [workspace / "workspace.json"] if is_file(workspace / "workspace.json") else []
                    yield SourceUnit(key=str(path), paths=[path, *side], resumable=True)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        if path.name == "state.vscdb":
            return _parse_state_db(path, self.name)
        if _is_event_log(path):
            outcome = parse_event_log(path, self.name, path.stem, resume, resumable=unit.resumable)
            if path.parent.name == "transcripts":
                folder = workspace_folder(path.parents[2] / "workspace.json")
                for chat in outcome.chats:
                    chat.workspace_path = chat.workspace_path or folder
            return outcome
        issues: list[ParseIssue] = []
        session = load_session(path, issues)
        if session is None:
            return ParseOutcome(chats=[], issues=issues)
        workspace = None
        if path.parent.name == "chatSessions":
            workspace = workspace_folder(path.parent.parent / "workspace.json")
        chat = session_to_chat(session, self.name, path.stem, str(path), workspace)
        return ParseOutcome(chats=[chat], issues=issues)


source = CopilotVSCodeSource()

"""Cursor: the IDE's databases (global and per-workspace `state.vscdb`), the CLI's per-chat
`store.db`, and the CLI agent transcripts (see _cursor_ide and _cursor_cli)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources._cursor_cli import parse_store, parse_transcript
from chasm.harvest.sources._cursor_ide import parse_global, parse_workspace
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir
from chasm.harvest.sources.toolkit.vscode_storage import vscode_user_dirs, workspace_storage_dirs

_DB = "state.vscdb"


class CursorSource:
    name = "cursor"
    display_name = "Cursor"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return [*vscode_user_dirs(platform, home, env, ("Cursor",)), home / ".cursor"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for unit in self._units(root):
                if unit.key not in seen:
                    seen.add(unit.key)
                    yield unit

    def _units(self, root: Path) -> Iterator[SourceUnit]:
        if is_file(root):
            unit = self._file_unit(root)
            if unit is not None:
                yield unit
            return
        if not is_dir(root):
            return
        global_db = root / "globalStorage" / _DB
        if is_file(global_db):
            yield SourceUnit(key=str(global_db), paths=[global_db])
        storage = root / "workspaceStorage" if is_dir(root / "workspaceStorage") else root
        if storage.name == "workspaceStorage" or is_file(root / _DB):
            for workspace in workspace_storage_dirs(storage):
                unit = self._file_unit(workspace / _DB)
                if unit is not None:
                    yield unit
        chats = root / "chats" if is_dir(root / "chats") else root if root.name == "chats" else None
        if chats is not None:
            for folder in list_dir(chats):
                for agent in list_dir(folder):
                    if is_file(agent / "store.db"):
                        yield SourceUnit(key=str(agent / "store.db"), paths=[agent / "store.db"])
        projects = (
            root / "projects" if is_dir(root / "projects") else root if root.name == "projects" else None
        )
        transcript_dirs = [p / "agent-transcripts" for p in list_dir(projects)] if projects else []
        if root.name == "agent-transcripts":
            transcript_dirs.append(root)
        for folder in transcript_dirs:
            for path in list_dir(folder):
                if path.suffix == ".jsonl" and is_file(path):
                    yield SourceUnit(key=str(path), paths=[path])

    def _file_unit(self, path: Path) -> SourceUnit | None:
        if not is_file(path):
            return None
        if path.name == _DB:
            side = path.parent / "workspace.json"
            if is_file(side):
                extra = [side]
                global_db = path.parent.parent.parent / "globalStorage" / _DB
                if is_file(global_db):
                    extra.append(global_db)  # decides which composers this workspace must show
                return SourceUnit(key=str(path), paths=[path, *extra])
            return SourceUnit(key=str(path), paths=[path])
        if path.name == "store.db" or path.suffix == ".jsonl":
            return SourceUnit(key=str(path), paths=[path])
        return None

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        if path.suffix == ".jsonl":
            return parse_transcript(path, self.name)
        if path.name == "store.db":
            return parse_store(path, self.name)
        if path.parent.name == "globalStorage":
            return parse_global(path, self.name)
        return parse_workspace(path, self.name)


source = CursorSource()

"""GitHub Copilot CLI: `~/.copilot/session-state/<id>/events.jsonl` (and the older flat
`session-state/<id>.jsonl` and `history-session-state/`), an append-only event log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources._copilot_events import parse_event_log
from chasm.harvest.sources.toolkit.paths import is_dir, is_file, list_dir

_STATE_DIRS = ("session-state", "history-session-state")


class CopilotCliSource:
    name = "copilot-cli"
    display_name = "GitHub Copilot CLI"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        # Same folder on every platform (%USERPROFILE%\.copilot on Windows); COPILOT_HOME moves it.
        override = env.get("COPILOT_HOME")
        return [Path(override)] if override else [home / ".copilot"]

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        seen: set[str] = set()
        for root in roots:
            for path in self._logs(root):
                key = str(path)
                if key not in seen:
                    seen.add(key)
                    yield SourceUnit(key=key, paths=[path], resumable=True)

    def _logs(self, root: Path) -> Iterator[Path]:
        if is_file(root):
            if root.suffix == ".jsonl":
                yield root
            return
        state_dirs = [root / name for name in _STATE_DIRS if is_dir(root / name)]
        if not state_dirs and is_dir(root):
            state_dirs = [root]
        for folder in state_dirs:
            for entry in list_dir(folder):
                if entry.suffix == ".jsonl" and is_file(entry):
                    yield entry
                elif is_file(entry / "events.jsonl"):
                    yield entry / "events.jsonl"

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        fallback = path.parent.name if path.name == "events.jsonl" else path.stem
        return parse_event_log(path, self.name, fallback, resume, resumable=True)


source = CopilotCliSource()

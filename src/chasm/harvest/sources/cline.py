"""Cline (VS Code extension `saoudrizwan.claude-dev`, and the Cline CLI's `~/.cline/data`): one
chat per task folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources._cline_tasks import default_roots, discover_tasks, parse_task

EXTENSION_ID = "saoudrizwan.claude-dev"


class ClineSource:
    name = "cline"
    display_name = "Cline"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return default_roots(EXTENSION_ID, platform, home, env, (home / ".cline" / "data",))

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        return discover_tasks(list(roots))

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        return parse_task(unit, self.name)


source = ClineSource()

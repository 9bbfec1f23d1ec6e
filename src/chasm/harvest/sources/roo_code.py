"""Roo Code (VS Code extension `rooveterinaryinc.roo-cline`): Cline's task-folder format."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.sources._cline_tasks import default_roots, discover_tasks, parse_task

EXTENSION_ID = "rooveterinaryinc.roo-cline"


class RooCodeSource:
    name = "roo-code"
    display_name = "Roo Code"
    opt_in = False

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return default_roots(EXTENSION_ID, platform, home, env)

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        return discover_tasks(list(roots))

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        return parse_task(unit, self.name)


source = RooCodeSource()

"""The interface every harvest source implements, built-in or third-party.

A source is registered as an entry point in the group `chasm.harvest_sources`, pointing at an
object that satisfies `HarvestSource` (the built-in ones are registered the same way, in
pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit


@runtime_checkable
class HarvestSource(Protocol):
    name: str  # machine name, e.g. "claude-code"; the chat's `provider`
    display_name: str  # e.g. "Claude Code"
    opt_in: bool  # True when default roots are not scanned unless configured (e.g. Aider)

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        """Where the tool keeps its files on `platform` ("linux", "darwin", "win32")."""
        ...

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        """Every unit under the roots that this source can parse (cheap: no parsing)."""
        ...

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        """Parse a unit. Never raises for bad content: corrupt records become issues."""
        ...

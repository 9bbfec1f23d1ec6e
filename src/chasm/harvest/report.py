"""What a harvest is asked to do (`SourcePlan`, `build_plans`) and what it answers (`HarvestReport`):
plain data, with nothing of the database, so that a command can plan a harvest and print its report
without loading the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chasm.harvest import registry
from chasm.harvest.exceptions import UnknownProvider
from chasm.harvest.model import SourceUnit
from chasm.harvest.spec import HarvestSource
from chasm.harvest.units import stat_fingerprint

# Unit keys of uploaded files (harvest/upload.py): a harvest of the server's folders never sees
# them, so it must not take them for missing.
UPLOAD_KEY_PREFIX = "upload:"


@dataclass
class ProviderCounts:
    units_seen: int = 0
    units_parsed: int = 0
    units_skipped: int = 0
    chats_created: int = 0
    chats_updated: int = 0
    messages_added: int = 0
    errors: int = 0
    bytes_parsed: int = 0


@dataclass
class HarvestIssue:
    provider: str
    path: str
    message: str
    line: int | None = None

    def as_text(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{self.provider}: {where}: {self.message}"


@dataclass
class HarvestReport:
    providers: dict[str, ProviderCounts] = field(default_factory=dict)
    issues: list[HarvestIssue] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def chats_stored(self) -> int:
        return sum(c.chats_created + c.chats_updated for c in self.providers.values())

    @property
    def messages_added(self) -> int:
        return sum(c.messages_added for c in self.providers.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "providers": {name: asdict(c) for name, c in self.providers.items()},
            "providers_scanned": list(self.providers),
            "sessions_count": self.chats_stored,
            "messages_count": self.messages_added,
            "errors": [i.as_text() for i in self.issues],
            "issues": [asdict(i) for i in self.issues],
            "duration_ms": self.duration_ms,
        }


@dataclass
class SourcePlan:
    """One source to harvest: where to look, and optionally which units only (a refresh)."""

    source: HarvestSource
    roots: list[Path]
    unit_keys: set[str] | None = None


class HasHarvestHome(Protocol):
    @property
    def harvest_home(self) -> Path | None: ...


def build_plans(
    settings: HasHarvestHome,
    data: Mapping[str, Any],
    providers: Iterable[str] | None = None,
    extra_roots: dict[str, list[str]] | None = None,
    include_disabled: bool = False,
) -> list[SourcePlan]:
    """The sources to harvest (those named, else every enabled one) with their folders: the
    defaults under `settings.harvest_home`, those of the account's chat settings `data`, then
    `extra_roots`."""
    reg = registry.get_registry()
    wanted = list(providers) if providers else None
    if wanted:
        unknown = [p for p in wanted if p not in reg.sources]
        if unknown:
            raise UnknownProvider(f"Unknown provider(s): {', '.join(unknown)}")
    disabled = set() if include_disabled or wanted else registry.disabled_providers(data)
    plans = []
    for name, source in sorted(reg.sources.items()):
        if (wanted and name not in wanted) or name in disabled:
            continue
        configured = registry.configured_roots(data, name) + list((extra_roots or {}).get(name, []))
        roots = registry.roots_for(source, harvest_home=settings.harvest_home, configured=configured)
        plans.append(SourcePlan(source, roots))
    return plans


def changed_units(
    units: Iterable[SourceUnit], stored: Mapping[str, tuple[str, bool]]
) -> list[tuple[SourceUnit, str, int]]:
    """The units to parse, with their fingerprint and size: those new or changed since `stored`
    (unit key -> (fingerprint, missing), as `harvest_files` holds them). An unchanged unit, or
    one whose file vanished since discovery, is not read."""
    changed = []
    for unit in units:
        stat = stat_fingerprint(unit.paths)
        if stat is not None and stored.get(unit.key) != (stat[0], False):
            changed.append((unit, *stat))
    return changed


def unseen_keys(stored: Mapping[str, tuple[str, bool]], units: Iterable[SourceUnit]) -> list[str]:
    """Stored units present last time that discovery no longer lists (uploads aside): those whose
    files are gone are to be flagged missing."""
    seen = {u.key for u in units}
    return [
        key
        for key, (_, missing) in stored.items()
        if key not in seen and not missing and not key.startswith(UPLOAD_KEY_PREFIX)
    ]


def parse_root_options(values: Iterable[str]) -> dict[str, list[str]]:
    """`PROVIDER=PATH` pairs (the CLI's --root) into a mapping."""
    roots: dict[str, list[str]] = {}
    for value in values:
        provider, sep, path = value.partition("=")
        if not sep or not provider or not path:
            raise UnknownProvider(
                f"--root expects PROVIDER=PATH, got {value!r}", status_code=400, code="bad_root"
            )
        roots.setdefault(provider.strip(), []).append(str(Path(path).expanduser()))
    return roots

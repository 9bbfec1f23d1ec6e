"""The harvest sources known to this installation: entry points of `chasm.harvest_sources` plus any
registered in-process, and the folders each one looks under."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from chasm.harvest.spec import HarvestSource

log = logging.getLogger("chasm.harvest")

ENTRY_POINT_GROUP = "chasm.harvest_sources"


@dataclass
class LoadError:
    name: str
    target: str
    message: str


@dataclass
class Registry:
    sources: dict[str, HarvestSource] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)

    def get(self, name: str) -> HarvestSource | None:
        return self.sources.get(name)


_extra: dict[str, HarvestSource] = {}
_loaded: Registry | None = None


def register(source: HarvestSource) -> None:
    """Add a source in-process (tests, embedding applications); it wins over an entry point of the
    same name."""
    if not isinstance(source, HarvestSource):
        raise TypeError(f"{source!r} does not implement HarvestSource")
    _extra[source.name] = source


def unregister(name: str) -> None:
    _extra.pop(name, None)


def _load_entry_points() -> Registry:
    registry = Registry()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj: Any = ep.load()
            if isinstance(obj, type):
                obj = obj()
            if not isinstance(obj, HarvestSource):
                raise TypeError("object does not implement HarvestSource")
        except Exception as exc:  # a broken plugin must not take the others down
            log.warning("harvest source %s (%s) failed to load: %s", ep.name, ep.value, exc)
            registry.errors.append(LoadError(ep.name, ep.value, f"{type(exc).__name__}: {exc}"))
            continue
        registry.sources[obj.name] = obj
    return registry


def get_registry(reload: bool = False) -> Registry:
    global _loaded
    if _loaded is None or reload:
        _loaded = _load_entry_points()
    merged = Registry(dict(_loaded.sources), list(_loaded.errors))
    merged.sources.update(_extra)
    merged.errors = [e for e in merged.errors if e.name not in merged.sources]
    return merged


def platform_name(platform: str | None = None) -> str:
    platform = platform or sys.platform
    if platform.startswith("win") or platform.startswith("cygwin"):
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


def source_env(harvest_home: Path | None) -> Mapping[str, str]:
    """The environment sources read: the real one, or only HOME when the home is overridden (so that
    variables such as CODEX_HOME or XDG_CONFIG_HOME do not point a test back at the real machine)."""
    if harvest_home is not None:
        return {"HOME": str(harvest_home)}
    return os.environ


def roots_for(
    source: HarvestSource,
    *,
    harvest_home: Path | None,
    configured: Iterable[str | Path] = (),
    platform: str | None = None,
) -> list[Path]:
    """Default roots (unless the source is opt-in) followed by configured ones, without duplicates."""
    home = harvest_home if harvest_home is not None else Path.home()
    roots: list[Path] = []
    if not source.opt_in:
        try:
            roots.extend(source.default_roots(platform_name(platform), home, source_env(harvest_home)))
        except Exception as exc:
            log.warning("harvest source %s: default_roots failed: %s", source.name, exc)
    roots.extend(Path(os.path.expanduser(str(p))) for p in configured)
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def configured_roots(settings_data: Mapping[str, Any] | None, provider: str) -> list[str]:
    """Roots from the chat settings document: data["harvest"]["roots"][provider]."""
    harvest = (settings_data or {}).get("harvest") or {}
    roots = (harvest.get("roots") or {}).get(provider) or []
    if isinstance(roots, str):
        roots = [roots]
    return [str(r) for r in roots if r]


def disabled_providers(settings_data: Mapping[str, Any] | None) -> set[str]:
    harvest = (settings_data or {}).get("harvest") or {}
    return {str(p) for p in harvest.get("disabled") or []}

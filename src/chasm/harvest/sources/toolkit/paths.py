"""Finding a tool's files: walks, folder listings that never raise, per-platform folders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path


def walk_files(roots: Iterable[Path], match: Callable[[Path], bool]) -> Iterator[Path]:
    """Every file under the roots (a root may itself be a file) for which `match(path)` is true,
    each once, in a stable order."""
    seen: set[str] = set()
    for root in roots:
        try:
            root = Path(root)
            if root.is_file():
                candidates: Iterable[Path] = [root]
            elif root.is_dir():
                candidates = _walk(root)
            else:
                continue
        except OSError:
            continue
        for path in candidates:
            key = str(path)
            if key in seen:
                continue
            try:
                if match(path):
                    seen.add(key)
                    yield path
            except OSError:
                continue


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath, name)


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


def env_path(env: Mapping[str, str], name: str) -> Path | None:
    """The folder an environment variable names (`~` expanded), or None when unset."""
    value = env.get(name)
    return Path(value).expanduser() if value else None


def config_home(platform: str, home: Path, env: Mapping[str, str]) -> Path:
    """Where desktop apps keep their settings on each platform (VS Code-family editors: `<App>/User`)."""
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

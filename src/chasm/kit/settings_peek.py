"""A few settings read the way `chasm.config.Settings` reads them, without pydantic: a command that
needs only where the library lives (an unchanged `chasm harvest`) decides that before loading
pydantic-settings, a large share of a CLI call's start. `Settings` reads its file through here
too, and a test holds `peek` to what `Settings` says."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

ENV_PREFIX = "CHASM_"


def default_data_dir() -> Path:
    return Path(user_data_dir("chasm", appauthor=False))


def config_file_values() -> dict[str, Any]:
    """The settings of the file named by CHASM_CONFIG (or <default data dir>/config.toml), if it
    exists: its [chasm] table, or the whole file."""
    path = os.environ.get("CHASM_CONFIG")
    candidate = Path(path) if path else default_data_dir() / "config.toml"
    if not candidate.is_file():
        return {}
    with candidate.open("rb") as fh:
        data = tomllib.load(fh)
    found: dict[str, Any] = data.get("chasm", data)
    return found


def peek(names: tuple[str, ...]) -> dict[str, str] | None:
    """The settings `names` that are set, as Settings reads them: from CHASM_<NAME> (any case), else
    the settings file; unset ones are left out. None when one of them is set to something this
    cannot read as Settings would (empty, or not text): ask Settings then."""
    env = {key.lower(): value for key, value in os.environ.items()}
    values: dict[str, str] = {}
    from_file: dict[str, Any] | None = None
    for name in names:
        value: Any = env.get(f"{ENV_PREFIX.lower()}{name}")
        if value is None:
            if from_file is None:
                from_file = config_file_values()
            value = from_file.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            return None
        values[name] = value
    return values


def effective_database_url(database_url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL of the library: `database_url` with its driver, or the SQLite file in the
    data folder."""
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'chasm.db'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (`effective_database_url`'s form); None for another database, an
    in-memory one or a URI filename."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path

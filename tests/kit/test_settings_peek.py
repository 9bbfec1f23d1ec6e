"""`settings_peek` reads the few settings it is asked for as `Settings` does: from CHASM_*
variables in any case, then the settings file; and declines what only pydantic would read."""

from __future__ import annotations

from pathlib import Path

import pytest

from chasm.config import Settings
from chasm.kit import settings_peek

NAMES = ("data_dir", "database_url", "harvest_home")


def _settings_view() -> dict[str, str]:
    settings = Settings()
    values = {
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "harvest_home": str(settings.harvest_home) if settings.harvest_home else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _peek_view() -> dict[str, str]:
    found = settings_peek.peek(NAMES)
    assert found is not None
    return {"data_dir": str(settings_peek.default_data_dir()), **found}


@pytest.mark.parametrize(
    ("env", "toml"),
    [
        ({}, None),
        ({"CHASM_DATA_DIR": "/srv/a"}, None),
        ({"chasm_data_dir": "/srv/lower", "CHASM_HARVEST_HOME": "/home/h"}, None),
        ({}, '[chasm]\ndata_dir = "/srv/file"\ndatabase_url = "sqlite:////srv/x.db"\n'),
        ({"CHASM_DATA_DIR": "/srv/env"}, 'data_dir = "/srv/file"\nharvest_home = "/h"\n'),
    ],
)
def test_peek_agrees_with_settings(
    env: dict[str, str], toml: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("CHASM_DATA_DIR", "CHASM_DATABASE_URL", "CHASM_HARVEST_HOME", "CHASM_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    config = tmp_path / "config.toml"
    if toml is not None:
        config.write_text(toml)
    monkeypatch.setenv("CHASM_CONFIG", str(config))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _peek_view() == _settings_view()
    assert (
        settings_peek.effective_database_url(_peek_view().get("database_url"), Path(_peek_view()["data_dir"]))
        == Settings().effective_database_url
    )


def test_peek_declines_what_only_pydantic_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHASM_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("CHASM_HARVEST_HOME", "")
    assert settings_peek.peek(NAMES) is None
    monkeypatch.delenv("CHASM_HARVEST_HOME")
    (tmp_path / "none.toml").write_text("data_dir = 7\n")
    assert settings_peek.peek(NAMES) is None


def test_sqlite_file_of_urls() -> None:
    assert settings_peek.sqlite_file("sqlite+aiosqlite:////srv/chasm.db?mode=x") == "/srv/chasm.db"
    assert settings_peek.sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert settings_peek.sqlite_file("postgresql+asyncpg://u@h/db") is None

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harvest_testsource import JsonlSource

from chasm.config import Settings
from chasm.harvest import registry


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    (path / ".testlog").mkdir(parents=True)
    return path


@pytest.fixture
def settings(tmp_path: Path, db_settings: dict[str, object], home: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + uuid.uuid4().hex,
        embedded_workers=1,
        harvest_home=home,
        harvest_workers=1,
        **db_settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def source() -> Iterator[JsonlSource]:
    src = JsonlSource()
    registry.register(src)
    yield src
    registry.unregister(src.name)

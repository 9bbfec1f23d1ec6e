"""A server with an empty harvest home, and helpers to configure providers on the fake LLM API."""

from __future__ import annotations

from pathlib import Path

import pytest

from chasm.config import Settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "home").mkdir(exist_ok=True)
    return settings.model_copy(update={"harvest_home": tmp_path / "home"})

"""A server with an empty harvest home, and helpers to configure providers on the fake LLM API."""

from __future__ import annotations

from pathlib import Path

import pytest

from chasm.config import Settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "home").mkdir(exist_ok=True)
    # One retry by the SDKs: the retries show, and a provider that is down fails fast.
    return settings.model_copy(update={"harvest_home": tmp_path / "home", "provider_max_retries": 1})

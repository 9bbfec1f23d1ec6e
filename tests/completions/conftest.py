"""A live server (real uvicorn on 127.0.0.1) with a provider on the fake LLM API, for the official
openai SDK to call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from provider_helpers import make_provider

from chasm.config import Settings
from fakes.llm_server import FakeLLM
from sessions.fixtures import live  # noqa: F401  (the app on a real port)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    (tmp_path / "home").mkdir(exist_ok=True)
    return settings.model_copy(update={"harvest_home": tmp_path / "home"})


@pytest.fixture
async def provider(admin: httpx.AsyncClient, fake_llm: FakeLLM) -> dict[str, Any]:
    """The default provider: an OpenAI-compatible server (the fake), default model gpt-4o-mini."""
    return await make_provider(admin, fake_llm, name="fake", default_model="gpt-4o-mini")

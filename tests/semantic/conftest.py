from __future__ import annotations

import pytest

from chasm.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with the bundled local model on (the suite's default is off)."""
    return settings.model_copy(update={"semantic_embedder": "local"})

import pytest

from chasm.config import Settings
from sessions.fixtures import app, live, sandbox  # noqa: F401
from sessions.fixtures import settings as sandbox_settings  # noqa: F401


@pytest.fixture
def settings(sandbox_settings: Settings) -> Settings:  # noqa: F811
    return sandbox_settings.model_copy(update={"base_domain": "sandbox.test"})

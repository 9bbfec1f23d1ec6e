import pytest

from chasm.config import Settings
from sessions.fixtures import app, live  # noqa: F401
from sessions.fixtures import settings as sandbox_settings  # noqa: F401


@pytest.fixture
def settings(sandbox_settings: Settings) -> Settings:  # noqa: F811
    # Chromium is heavy on a shared machine: no warm browser unless a test asks for one.
    return sandbox_settings.model_copy(update={"browser_warm_pool": 0, "sandbox_warm_pool": 0})

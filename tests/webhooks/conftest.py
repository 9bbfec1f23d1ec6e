from __future__ import annotations

from collections.abc import Iterator

import pytest
from receiver import Receiver

from chasm.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_networks": ["127.0.0.0/8"],
            "webhook_retry_schedule_s": [0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
            "webhook_dispatch_interval_s": 0.05,
            "webhook_timeout_s": 0.5,
            "sandbox_warm_pool": 0,
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()

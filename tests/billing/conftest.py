from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_stripe import FakeStripe

from chasm.config import Settings


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_networks": ["127.0.0.0/8"],
            "webhook_dispatch_interval_s": 0.05,
            "billing_meter_interval_s": 3600.0,  # the tests tick the meter themselves
            "billing_storage_sample_interval_s": 3600.0,
            "sandbox_warm_pool": 0,
            "session_reaper_interval_s": 3600.0,
            "stripe_api_key": stripe_api.api_key,
            "stripe_webhook_secret": stripe_api.webhook_secret,
            "stripe_api_base": stripe_api.base,
            "stripe_prices": {"paid": "price_paid_monthly"},
        }
    )

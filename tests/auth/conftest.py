from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest

from auth.fake_oauth import FakeProvider
from chasm.config import Settings


@pytest.fixture
def google() -> Iterator[FakeProvider]:
    provider = FakeProvider(
        "google-client",
        "google-secret",
        userinfo={"sub": "g-1001", "email": "gina@example.com", "email_verified": True, "name": "Gina"},
    ).start()
    yield provider
    provider.stop()


@pytest.fixture
def github() -> Iterator[FakeProvider]:
    provider = FakeProvider(
        "github-client",
        "github-secret",
        github_style=True,
        userinfo={"id": 4242, "login": "octo", "name": None, "email": None},
        emails=[
            {"email": "octo-old@example.com", "primary": False, "verified": True},
            {"email": "octo@example.com", "primary": True, "verified": True},
        ],
    ).start()
    yield provider
    provider.stop()


@pytest.fixture
def codex() -> Iterator[FakeProvider]:
    id_token = jwt.encode(
        {"email": "coder@example.com", "https://api.openai.com/auth": {"chatgpt_account_id": "acct-77"}},
        "an id-token signing key that chasm never checks",
        algorithm="HS256",
    )
    provider = FakeProvider("codex-client", None, id_token=id_token).start()
    yield provider
    provider.stop()


@pytest.fixture
def settings(settings: Settings, google: FakeProvider, github: FakeProvider, codex: FakeProvider) -> Settings:
    return settings.model_copy(
        update={
            "google_client_id": google.client_id,
            "google_client_secret": google.client_secret,
            "google_authorize_url": f"{google.base}/authorize",
            "google_token_url": f"{google.base}/token",
            "google_userinfo_url": f"{google.base}/userinfo",
            "github_client_id": github.client_id,
            "github_client_secret": github.client_secret,
            "github_authorize_url": f"{github.base}/authorize",
            "github_token_url": f"{github.base}/token",
            "github_api_url": github.base,
            "codex_client_id": codex.client_id,
            "codex_authorize_url": f"{codex.base}/authorize",
            "codex_token_url": f"{codex.base}/token",
        }
    )

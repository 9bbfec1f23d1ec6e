"""The session access token on the default configuration (no configured secret key: the data
dir's generated secret is the one source for every keyed hash)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chasm.config import Settings
from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"secret_key": None})


async def test_access_token_works_without_a_configured_secret(
    admin: httpx.AsyncClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (settings.data_dir / "secret.key").exists()
    sandbox = await create_session(admin)
    token = sandbox["access_token"]
    sid = sandbox["id"]
    started = await admin.post(
        f"/v1/sessions/{sid}/exec",
        json={"command": "python3 -m http.server 8123 --bind 127.0.0.1 >/dev/null 2>&1", "background": True},
    )
    assert started.status_code in (200, 201, 202), started.text
    for _ in range(50):
        by_header = await client.get(f"/s/{sid}/forward/8123/", headers={"X-Chasm-Session-Token": token})
        if by_header.status_code != 502:
            break
        await asyncio.sleep(0.1)
    assert by_header.status_code == 200
    by_query = await client.get(f"/s/{sid}/forward/8123/?token={token}")
    assert by_query.status_code == 200
    client.cookies.clear()  # the query token set the gateway cookie
    assert (await client.get(f"/s/{sid}/forward/8123/?token=wrong")).status_code == 401

"""Two servers on one database each run a dispatcher: an endpoint's queue is claimed by one of
them at a time, so no delivery goes out twice and each endpoint keeps its order; the lease of a
server that died holds its endpoints until it expires."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from receiver import Receiver
from webhook_helpers import emit_events, wait_until

from chasm.app import create_app
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import WebhookEndpoint


@pytest.fixture
async def second(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """Another server on the same database with its own data dir (hence its own dispatcher)."""
    node = create_app(settings.model_copy(update={"data_dir": tmp_path / "node-2", "bootstrap_admin": False}))
    async with node.router.lifespan_context(node):
        yield node


async def test_two_dispatchers_never_deliver_twice(
    app: FastAPI, second: FastAPI, admin: httpx.AsyncClient
) -> None:
    first, other = app.state.webhook_dispatcher, second.state.webhook_dispatcher
    assert first.owner != other.owner
    receivers = [Receiver().start() for _ in range(3)]
    try:
        receivers[0].answer = lambda n: 500 if n % 7 == 0 else 200  # retries in between
        for receiver in receivers:
            r = await admin.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["job.*"]})
            assert r.status_code == 201, r.text
            receiver.secret = r.json()["secret"]
        account_id = (await admin.get("/v1/billing/summary")).json()["account_id"]
        # Events committed one by one through both servers: each commit wakes both dispatchers.
        await emit_events(app, account_id, 30)
        await emit_events(second, account_id, 30, event_type="job.failed")
        await wait_until(lambda: all(len(r.delivered()) >= 60 for r in receivers), timeout=30)

        for receiver in receivers:
            assert all(r.verified for r in receiver.requests)
            delivered = receiver.delivered()
            assert [(r.type, r.data["n"]) for r in delivered] == [("job.succeeded", n) for n in range(30)] + [
                ("job.failed", n) for n in range(30)
            ]
            assert max(Counter(r.webhook_id for r in delivered).values()) == 1
        failures = len([r for r in receivers[0].requests if r.answered != 200])
        assert len(receivers[0].requests) == 60 + failures  # each failure retried once, nothing else
        assert all(len(r.requests) == 60 for r in receivers[1:])
    finally:
        for receiver in receivers:
            receiver.stop()


async def test_a_crashed_servers_lease_holds_the_endpoint_until_it_expires(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await admin.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["job.*"]})
    receiver.secret = r.json()["secret"]
    endpoint_id = uuid.UUID(r.json()["id"])
    async with transaction(app.state.sessionmaker) as db:
        endpoint = await db.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.lease_owner, endpoint.lease_until = "server:gone/0", utcnow() + timedelta(seconds=60)
    await emit_events(app, (await admin.get("/v1/billing/summary")).json()["account_id"], 3)
    await asyncio.sleep(0.5)
    assert receiver.requests == []  # another server holds it
    async with transaction(app.state.sessionmaker) as db:
        endpoint = await db.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.lease_until = utcnow() - timedelta(seconds=1)  # it expired
    await wait_until(lambda: len(receiver.delivered()) == 3)
    assert [r.data["n"] for r in receiver.delivered()] == [0, 1, 2]

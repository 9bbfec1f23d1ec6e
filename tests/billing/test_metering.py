"""Metering and plans while sessions run: debits match metered seconds, an empty wallet or the free
plan's time cap ends a session with a reason, and the session events reach webhooks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from receiver import Receiver
from sqlalchemy import select
from webhook_helpers import wait_until

from auth.idhelpers import user_client
from chasm.billing import plans
from chasm.billing.metering import Meter
from chasm.config import Settings
from chasm.kit.db import transaction
from chasm.kit.timeutil import utcnow
from chasm.models import WalletEntry
from sessions.fixtures import make_workspace

pytestmark = pytest.mark.sandbox


@pytest.fixture
async def user(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    c, _ = await user_client(app, client, f"m-{uuid.uuid4().hex[:6]}@example.com")
    async with c:
        yield c


async def _credit(app: FastAPI, user: httpx.AsyncClient, usd: float) -> uuid.UUID:
    account_id = uuid.UUID((await user.get("/v1/billing/summary")).json()["account_id"])
    async with transaction(app.state.sessionmaker) as db:
        db.add(
            WalletEntry(account_id=account_id, amount_microusd=round(usd * plans.MICRO), kind="adjustment")
        )
    return account_id


def _meter(app: FastAPI) -> Meter:
    meter: Meter = app.state.billing_meter
    return meter


async def test_wallet_debits_match_metered_seconds(app: FastAPI, user: httpx.AsyncClient) -> None:
    assert (await user.post("/v1/billing/account", json={"plan": "paid"})).status_code == 200
    r = await user.post("/v1/sessions", json={"ephemeral": True})
    assert r.status_code == 402 and r.json()["error"]["code"] == "wallet_empty"

    account_id = await _credit(app, user, 10)
    session = (await user.post("/v1/sessions", json={"ephemeral": True})).json()
    meter = _meter(app)
    for minutes in (7, 19, 33):  # ticks at chosen times: what the meter would see later on
        await meter.tick(utcnow() + timedelta(minutes=minutes))
    assert (await user.delete(f"/v1/sessions/{session['id']}")).status_code in (200, 204)
    await meter.tick()

    usage = (await user.get("/v1/billing/usage", params={"kind": "session_seconds"})).json()
    seconds = usage["totals"][0]["quantity"]
    assert seconds >= 33 * 60
    assert {r["session_type"] for r in usage["items"]} == {"sandbox"}
    async with app.state.sessionmaker() as db:
        debits = (
            await db.execute(
                select(WalletEntry.amount_microusd).where(
                    WalletEntry.account_id == account_id, WalletEntry.kind == "session_time"
                )
            )
        ).scalars()
        debited = -sum(debits)
    assert debited == plans.charge_for(app.state.settings, seconds)  # 0.05 $/h, to the micro-dollar
    summary = (await user.get("/v1/billing/summary")).json()
    assert summary["wallet"]["balance_microusd"] == 10 * plans.MICRO - debited
    assert summary["usage_24h"]["spent_usd"] == debited / plans.MICRO


async def test_an_empty_wallet_ends_the_session(
    app: FastAPI, user: httpx.AsyncClient, settings: Settings
) -> None:
    receiver = Receiver().start()
    try:
        hook = (
            await user.post(
                "/v1/webhooks",
                json={"url": receiver.url, "event_types": ["session.*", "billing.wallet.exhausted"]},
            )
        ).json()
        receiver.secret = hook["secret"]
        await user.post("/v1/billing/account", json={"plan": "paid"})
        await _credit(app, user, 10)
        session = (await user.post("/v1/sessions", json={"ephemeral": True})).json()
        await _meter(app).tick(utcnow() + timedelta(hours=201))  # $10 at $0.05/h lasts 200 h
        got = (await user.get(f"/v1/sessions/{session['id']}")).json()
        assert got["status"] == "terminated" and got["ended_reason"] == "wallet_exhausted"
        await wait_until(lambda: len(receiver.delivered()) == 3)
        types = [r.type for r in receiver.delivered()]
        assert types == ["session.created", "billing.wallet.exhausted", "session.terminated"]
        assert receiver.delivered()[2].data["ended_reason"] == "wallet_exhausted"
        assert all(r.verified for r in receiver.requests)
    finally:
        receiver.stop()


async def test_the_free_plan_caps_session_time(app: FastAPI, user: httpx.AsyncClient) -> None:
    session = (await user.post("/v1/sessions", json={"ephemeral": True})).json()
    r = await user.post("/v1/sessions", json={"ephemeral": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "quota_exceeded"  # one at a time
    r = await user.post("/v1/sessions", json={"workspace": "w1"})
    assert r.status_code in (403, 404)
    await _meter(app).tick(utcnow() + timedelta(minutes=59))
    assert (await user.get(f"/v1/sessions/{session['id']}")).json()["status"] == "running"
    await _meter(app).tick(utcnow() + timedelta(minutes=61))
    got = (await user.get(f"/v1/sessions/{session['id']}")).json()
    assert got["status"] == "terminated" and got["ended_reason"] == "plan_time_limit"
    summary = (await user.get("/v1/billing/summary")).json()
    assert summary["wallet"]["balance_usd"] == 0  # free time is not charged
    assert summary["usage_24h"]["session_seconds"] > 0 or summary["usage_30d"]["session_seconds"] > 0


async def test_the_local_owner_is_never_ended_by_billing(app: FastAPI, admin: httpx.AsyncClient) -> None:
    session = (await admin.post("/v1/sessions", json={"ephemeral": True})).json()
    await _meter(app).tick(utcnow() + timedelta(hours=100))
    got = (await admin.get(f"/v1/sessions/{session['id']}")).json()
    assert got["status"] == "running"
    await admin.delete(f"/v1/sessions/{session['id']}")


async def test_storage_is_sampled_from_disk(app: FastAPI, admin: httpx.AsyncClient) -> None:
    ws = await make_workspace(app, "metered")
    try:
        await _meter(app).sample_storage()
    finally:
        await app.state.workspace_storage.delete(ws["id"])  # a loop mount when run as root
    usage = (await admin.get("/v1/billing/usage", params={"kind": "storage_bytes"})).json()
    # The meter's own first sample (at its start) may have measured it too: one workspace, newest first.
    assert {r["workspace_id"] for r in usage["items"]} == {ws["id"]}
    assert usage["items"][0]["unit"] == "bytes" and usage["items"][0]["quantity"] >= 0
    summary = (await admin.get("/v1/billing/summary")).json()
    assert summary["storage"]["workspaces"] == 1
    assert summary["storage"]["bytes"] == usage["items"][0]["quantity"]

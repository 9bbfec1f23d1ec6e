"""Stripe subscriptions after checkout, against the fake Stripe API: each paid invoice credits the
wallet and extends the plan exactly once (replays and other events of the same invoice change
nothing), and a deleted subscription puts the account back on the free plan."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
from fake_stripe import FakeStripe
from fastapi import FastAPI
from receiver import Receiver
from sqlalchemy import select
from webhook_helpers import wait_until

from auth.idhelpers import user_client
from chasm.models import WalletEntry

WEBHOOK = "/v1/billing/stripe/webhook"
DAY = 24 * 3600


async def _send(client: httpx.AsyncClient, event: tuple[bytes, str]) -> dict[str, bool]:
    payload, signature = event
    r = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
    assert r.status_code == 200, r.text
    answer: dict[str, bool] = r.json()
    return answer


async def test_invoices_renew_once_and_a_deleted_subscription_downgrades(
    app: FastAPI, client: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    user, _ = await user_client(app, client, f"renew-{uuid.uuid4().hex[:6]}@example.com")
    receiver = Receiver().start()
    try:
        hook = await user.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["billing.*"]})
        receiver.secret = hook.json()["secret"]
        r = await user.post("/v1/billing/checkout", json={"mode": "subscription", "plan_code": "paid"})
        assert r.status_code == 201, r.text
        account_id = (await user.get("/v1/billing/summary")).json()["account_id"]
        assert stripe_api.requests[-1]["subscription_data"]["metadata"]["account_id"] == account_id
        assert (await _send(client, stripe_api.completed_event(r.json()["id"])))["duplicate"] is False
        sub_id = stripe_api.sessions[r.json()["id"]]["subscription"]

        now = int(time.time())
        first = stripe_api.invoice(sub_id, 2000, now, now + 30 * DAY)
        event = stripe_api.event("invoice.paid", first)
        assert await _send(client, event) == {"received": True, "duplicate": False}
        summary = (await user.get("/v1/billing/summary")).json()
        assert summary["plan"]["code"] == "paid" and summary["wallet"]["balance_usd"] == 20.0
        assert summary["subscription"]["stripe_subscription_id"] == sub_id
        paid_until = datetime.fromisoformat(summary["subscription"]["paid_until"])
        assert paid_until == datetime.fromtimestamp(now + 30 * DAY, UTC)

        # The same event again, and another event about the same invoice: nothing more.
        assert (await _send(client, event))["duplicate"] is True
        assert (await _send(client, stripe_api.event("invoice.paid", first)))["duplicate"] is True
        assert (await user.get("/v1/billing/summary")).json()["wallet"]["balance_usd"] == 20.0

        renewal = stripe_api.invoice(sub_id, 2000, now + 30 * DAY, now + 60 * DAY)
        assert (await _send(client, stripe_api.event("invoice.paid", renewal)))["duplicate"] is False
        summary = (await user.get("/v1/billing/summary")).json()
        assert summary["wallet"]["balance_usd"] == 40.0
        assert datetime.fromisoformat(summary["subscription"]["paid_until"]) == datetime.fromtimestamp(
            now + 60 * DAY, UTC
        )
        async with app.state.sessionmaker() as db:
            entries = (
                await db.execute(
                    select(WalletEntry.kind, WalletEntry.reference, WalletEntry.amount_microusd)
                    .where(WalletEntry.account_id == uuid.UUID(account_id))
                    .order_by(WalletEntry.created_at)
                )
            ).all()
        assert entries == [
            ("subscription", f"stripe_invoice:{first['id']}", 20_000_000),
            ("subscription", f"stripe_invoice:{renewal['id']}", 20_000_000),
        ]

        # An invoice of a subscription that is not ours changes nothing.
        stripe_api.subscriptions["sub_stranger"] = {"id": "sub_stranger", "customer": "cus_x", "metadata": {}}
        stranger = stripe_api.invoice("sub_stranger", 5000, now, now + DAY)
        assert (await _send(client, stripe_api.event("invoice.paid", stranger)))["duplicate"] is False
        assert (await user.get("/v1/billing/summary")).json()["wallet"]["balance_usd"] == 40.0

        deleted = stripe_api.deleted_event(sub_id)
        assert (await _send(client, deleted))["duplicate"] is False
        summary = (await user.get("/v1/billing/summary")).json()
        assert summary["plan"]["code"] == "free" and summary["subscription"] is None
        assert summary["wallet"]["balance_usd"] == 40.0  # what was paid stays in the wallet
        assert (await _send(client, deleted))["duplicate"] is True
        assert (await _send(client, stripe_api.deleted_event(sub_id)))["duplicate"] is True

        expected = [
            "billing.plan.changed",
            "billing.subscription.renewed",
            "billing.wallet.credited",
            "billing.subscription.renewed",
            "billing.wallet.credited",
            "billing.plan.changed",
            "billing.subscription.canceled",
        ]
        await wait_until(lambda: len(receiver.delivered()) >= len(expected))
        got = receiver.delivered()
        assert [r.type for r in got] == expected and all(r.verified for r in got)
        assert got[1].data["invoice_id"] == first["id"] and got[1].data["amount_usd"] == 20.0
        assert got[4].data["invoice_id"] == renewal["id"] and got[4].data["balance_usd"] == 40.0
        assert got[5].data == {"account_id": account_id, "old": "paid", "new": "free", "via": "stripe"}
    finally:
        receiver.stop()
        await user.aclose()

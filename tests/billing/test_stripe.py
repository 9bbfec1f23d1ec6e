"""Stripe end to end against a fake Stripe API on 127.0.0.1: checkout, then the signed
`checkout.session.completed` event credits the wallet exactly once."""

from __future__ import annotations

import uuid

import httpx
from fake_stripe import FakeStripe, sign
from fastapi import FastAPI
from receiver import Receiver
from webhook_helpers import wait_until

from auth.idhelpers import user_client
from chasm.config import Settings

WEBHOOK = "/v1/billing/stripe/webhook"


async def test_topup_credits_the_wallet_once(
    app: FastAPI, client: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    user, _ = await user_client(app, client, f"payer-{uuid.uuid4().hex[:6]}@example.com")
    receiver = Receiver().start()
    try:
        hook = (
            await user.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["billing.*"]})
        ).json()
        receiver.secret = hook["secret"]
        await user.post("/v1/billing/account", json={"email": "payer@example.com"})

        r = await user.post("/v1/billing/checkout", json={"mode": "topup", "amount_usd": 25})
        assert r.status_code == 201, r.text
        checkout = r.json()
        assert checkout["id"].startswith("cs_test_") and checkout["url"].startswith(
            "https://checkout.stripe.test/"
        )
        sent = stripe_api.requests[-1]
        assert sent["mode"] == "payment" and sent["line_items"]["0"]["price_data"]["unit_amount"] == "2500"
        assert sent["customer_email"] == "payer@example.com"

        payload, signature = stripe_api.completed_event(checkout["id"])
        r = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
        assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False}
        summary = (await user.get("/v1/billing/summary")).json()
        assert summary["wallet"]["balance_usd"] == 25.0

        # The same event again, and another event of the same checkout: nothing more.
        r = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
        assert r.json() == {"received": True, "duplicate": True}
        other, other_sig = stripe_api.completed_event(checkout["id"])
        r = await client.post(WEBHOOK, content=other, headers={"Stripe-Signature": other_sig})
        assert r.json() == {"received": True, "duplicate": True}
        assert (await user.get("/v1/billing/summary")).json()["wallet"]["balance_usd"] == 25.0

        await wait_until(lambda: len(receiver.delivered()) == 1)
        credited = receiver.delivered()[0]
        assert credited.verified and credited.type == "billing.wallet.credited"
        assert credited.data["amount_usd"] == 25.0 and credited.data["checkout_id"] == checkout["id"]
    finally:
        receiver.stop()
        await user.aclose()


async def test_bad_signatures_and_amounts_are_refused(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    r = await admin.post("/v1/billing/checkout", json={"mode": "topup", "amount_usd": 9.99})
    assert r.status_code == 400 and r.json()["error"]["code"] == "amount_below_minimum"
    r = await admin.post("/v1/billing/checkout", json={"mode": "subscription", "plan_code": "gold"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_plan"
    checkout = (await admin.post("/v1/billing/checkout", json={"mode": "topup", "amount_usd": 10})).json()
    payload, _ = stripe_api.completed_event(checkout["id"])
    for signature in [sign(payload, "whsec_wrong"), "t=1,v1=deadbeef", ""]:
        r = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
        assert r.status_code == 400, signature
        assert r.json()["error"]["code"] == "invalid_stripe_signature"
    stale = sign(payload, stripe_api.webhook_secret, timestamp=1)
    r = await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": stale})
    assert r.status_code == 400
    assert (await admin.get("/v1/billing/summary")).json()["wallet"]["balance_usd"] == 0


async def test_subscription_checkout_sets_the_plan(
    app: FastAPI, client: httpx.AsyncClient, stripe_api: FakeStripe
) -> None:
    user, _ = await user_client(app, client, f"sub-{uuid.uuid4().hex[:6]}@example.com")
    async with user:
        r = await user.post("/v1/billing/checkout", json={"mode": "subscription", "plan_code": "paid"})
        assert r.status_code == 201, r.text
        assert stripe_api.requests[-1]["line_items"]["0"]["price"] == "price_paid_monthly"
        assert (await user.get("/v1/billing/summary")).json()["plan"]["code"] == "free"
        payload, signature = stripe_api.completed_event(r.json()["id"])
        assert (
            await client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": signature})
        ).status_code == 200
        assert (await user.get("/v1/billing/summary")).json()["plan"]["code"] == "paid"


async def test_without_stripe_checkout_answers_503(
    app: FastAPI, admin: httpx.AsyncClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.stripe_api_key = None
    r = await admin.post("/v1/billing/checkout", json={"mode": "topup", "amount_usd": 10})
    assert r.status_code == 503 and r.json()["error"]["code"] == "stripe_not_configured"
    r = await client.post(WEBHOOK, content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"})
    assert r.status_code == 503

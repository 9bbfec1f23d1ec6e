"""Summary and usage: the local owner is unlimited; plans come from the quota plans; usage
records of any kind are listed with totals."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from auth.idhelpers import user_client
from chasm.billing.service import record_usage
from chasm.kit.db import transaction


async def test_the_local_owner_is_on_the_unlimited_local_plan(admin: httpx.AsyncClient) -> None:
    summary = (await admin.get("/v1/billing/summary")).json()
    assert summary["plan"]["code"] == "local" and summary["plan"]["unlimited"] is True
    assert summary["plan"]["wallet"] is False and summary["plan"]["session_time_cap_s"] is None
    assert summary["wallet"]["balance_usd"] == 0 and summary["stripe_configured"] is True
    assert set(summary["usage_24h"]) == {"session_seconds", "exec_count", "tokens", "spent_usd"}


async def test_a_new_account_is_free_and_may_choose_paid(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, _ = await user_client(app, client, f"u-{uuid.uuid4().hex[:6]}@example.com")
    async with user:
        plan = (await user.get("/v1/billing/summary")).json()["plan"]
        assert plan["code"] == "free" and plan["ephemeral_only"] and plan["live_sessions"] == 1
        assert plan["session_time_cap_s"] == 3600
        r = await user.post("/v1/billing/account", json={"plan": "local"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_plan"
        r = await user.post("/v1/billing/account", json={"plan": "paid", "email": "me@example.com"})
        assert r.status_code == 200, r.text
        assert r.json()["plan"]["wallet"] is True and r.json()["plan"]["price_per_session_hour_usd"] == 0.05
        assert r.json()["billing_email"] == "me@example.com"


async def test_usage_lists_records_with_totals(app: FastAPI, admin: httpx.AsyncClient) -> None:
    account_id = uuid.UUID((await admin.get("/v1/billing/summary")).json()["account_id"])
    async with transaction(app.state.sessionmaker) as db:
        record_usage(db, account_id, "tokens", 1200, "tokens", metadata={"model": "m1"})
        record_usage(db, account_id, "tokens", 300, "tokens", metadata={"model": "m2"})
        record_usage(db, account_id, "exec", 1, "count")
    body = (await admin.get("/v1/billing/usage", params={"kind": "tokens"})).json()
    assert [r["quantity"] for r in body["items"]] == [300, 1200] or len(body["items"]) == 2
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    assert body["totals"] == [{"kind": "tokens", "unit": "tokens", "quantity": 1500.0, "records": 2}]
    everything = (await admin.get("/v1/billing/usage", params={"limit": 1})).json()
    assert len(everything["items"]) == 1 and {t["kind"] for t in everything["totals"]} == {"tokens", "exec"}
    assert everything["total"] == 3
    summary = (await admin.get("/v1/billing/summary")).json()
    assert summary["usage_24h"]["tokens"] == 1500 and summary["usage_30d"]["exec_count"] == 1

"""Delivery: signed per Standard Webhooks, in order per endpoint, at least once through failures,
retries, a restart, replay and discard; an endpoint failing too long is disabled."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from receiver import Receiver
from sqlalchemy import select
from webhook_helpers import emit_events, wait_for_api, wait_until

from chasm.app import create_app
from chasm.config import Settings
from chasm.models import AuditEvent


async def _account(admin: httpx.AsyncClient) -> str:
    account_id: str = (await admin.get("/v1/billing/summary")).json()["account_id"]
    return account_id


async def _hook(
    admin: httpx.AsyncClient, receiver: Receiver, types: list[str] | None = None
) -> dict[str, Any]:
    r = await admin.post("/v1/webhooks", json={"url": receiver.url, "event_types": types or ["*"]})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    receiver.secret = created["secret"]
    return created


def _numbers(receiver: Receiver) -> list[int]:
    return [r.data["n"] for r in receiver.delivered()]


async def test_a_real_job_outcome_arrives_signed(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    await _hook(admin, receiver, ["job.*"])
    r = await admin.post("/v1/jobs", json={"kind": "audit.prune", "input": {"older_than_days": 30}})
    assert r.status_code == 201, r.text
    await wait_until(lambda: len(receiver.delivered()) == 1)
    got = receiver.delivered()[0]
    assert got.verified and got.type == "job.succeeded"
    assert got.data["id"] == r.json()["id"] and got.data["kind"] == "audit.prune"


async def test_flaky_receiver_gets_every_event_in_order(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answer = lambda n: 500 if n % 2 else 200  # every other request fails
    hook = await _hook(admin, receiver, ["job.succeeded"])
    await emit_events(app, await _account(admin), 20)
    await wait_until(lambda: len(receiver.delivered()) == 20)
    assert _numbers(receiver) == list(range(20))
    assert all(r.verified for r in receiver.requests)
    assert len(receiver.requests) == 40

    async def all_succeeded() -> bool:
        listed = (await admin.get("/v1/webhooks/deliveries", params={"webhook_id": hook["id"]})).json()[
            "items"
        ]
        return len(listed) == 20 and {d["status"] for d in listed} == {"succeeded"}

    await wait_for_api(all_succeeded)
    deliveries = (await admin.get("/v1/webhooks/deliveries", params={"webhook_id": hook["id"]})).json()[
        "items"
    ]
    detail = (await admin.get(f"/v1/webhooks/deliveries/{deliveries[0]['id']}")).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    assert detail["request_headers"]["webhook-id"] == detail["event_id"]
    assert detail["request_body"]["type"] == "job.succeeded"
    assert detail["response_status"] == 200 and len(detail["response_excerpt"]) == 4096
    assert detail["latency_ms"] > 0


async def test_a_restart_during_retries_loses_nothing(settings: Settings, receiver: Receiver) -> None:
    receiver.answer = lambda n: 500 if n <= 3 else 200
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first, client=("127.0.0.1", 50001))
        headers = {"Authorization": f"Bearer {first.state.bootstrap_key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as admin:
            await _hook(admin, receiver, ["job.succeeded"])
            await emit_events(first, await _account(admin), 5)
            await wait_until(lambda: len(receiver.requests) >= 2)
    # the server stopped in the middle of the retry series; a new one carries on
    assert len(receiver.delivered()) == 0
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        await wait_until(lambda: len(receiver.delivered()) == 5)
    assert _numbers(receiver) == [0, 1, 2, 3, 4]


async def test_a_failing_head_blocks_until_discarded_then_replay(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver, settings: Settings
) -> None:
    receiver.answer = lambda n: 500 if n == 1 else 200
    settings.webhook_retry_schedule_s = [30.0]  # the head waits long: nothing behind it may pass
    hook = await _hook(admin, receiver, ["job.succeeded"])
    await emit_events(app, await _account(admin), 3)
    listed: list[dict[str, Any]] = []

    async def head_failed() -> bool:
        listed[:] = (await admin.get("/v1/webhooks/deliveries", params={"status": "pending"})).json()["items"]
        return any(d["attempts"] for d in listed)

    await wait_for_api(head_failed)
    assert len(listed) == 3 and len(receiver.requests) == 1
    head = listed[-1]  # newest event first: the last is the head
    assert head["attempts"] == 1 and head["last_status_code"] == 500
    r = await admin.post(f"/v1/webhooks/deliveries/{head['id']}/discard")
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    await wait_until(lambda: len(receiver.delivered()) == 2)
    assert _numbers(receiver) == [1, 2]
    r = await admin.post(f"/v1/webhooks/deliveries/{head['id']}/discard")
    assert r.status_code == 409 and r.json()["error"]["code"] == "delivery_state_conflict"

    r = await admin.post(f"/v1/webhooks/deliveries/{head['id']}/replay")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    await wait_until(lambda: len(receiver.delivered()) == 3)
    assert _numbers(receiver) == [1, 2, 0]
    assert receiver.delivered()[2].webhook_id == head["event_id"]  # the same id: receivers can dedupe

    async def replayed() -> bool:
        detail = (await admin.get(f"/v1/webhooks/deliveries/{head['id']}")).json()
        return detail["status"] == "succeeded" and len(detail["attempt_log"]) == 2

    await wait_for_api(replayed)
    filtered = await admin.get(
        "/v1/webhooks/deliveries", params={"webhook_id": hook["id"], "status": "succeeded"}
    )
    assert len(filtered.json()["items"]) == 3 and filtered.json()["total"] == 3
    assert (
        await admin.get("/v1/webhooks/deliveries/00000000-0000-0000-0000-000000000000")
    ).status_code == 404


async def test_redirects_are_not_followed_and_hangs_time_out(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answer = lambda n: {1: 301, 2: "hang"}.get(n, 200)
    await _hook(admin, receiver, ["job.succeeded"])
    await emit_events(app, await _account(admin), 1)
    await wait_until(lambda: len(receiver.delivered()) == 1)

    async def succeeded() -> bool:
        return bool(
            (await admin.get("/v1/webhooks/deliveries", params={"status": "succeeded"})).json()["items"]
        )

    await wait_for_api(succeeded)
    deliveries = (await admin.get("/v1/webhooks/deliveries")).json()["items"]
    detail = (await admin.get(f"/v1/webhooks/deliveries/{deliveries[0]['id']}")).json()
    log = detail["attempt_log"]
    assert log[0]["status_code"] == 301 and "not followed" in log[0]["error"]
    assert log[1]["status_code"] is None and log[1]["error"] == "timeout"
    assert log[2]["status_code"] == 200
    assert len(receiver.requests) == 3  # nothing went to the redirect's target


async def test_an_endpoint_failing_too_long_is_disabled(
    app: FastAPI, admin: httpx.AsyncClient, receiver: Receiver, settings: Settings
) -> None:
    settings.webhook_disable_after_failures = 3
    failing = Receiver(answer=lambda n: 500).start()
    try:
        r = await admin.post("/v1/webhooks", json={"url": failing.url, "event_types": ["job.succeeded"]})
        failing.secret = r.json()["secret"]
        bad = r.json()["id"]
        await _hook(admin, receiver, ["webhook.endpoint.disabled"])
        await emit_events(app, await _account(admin), 2)
        await wait_until(lambda: len(receiver.delivered()) == 1)
        assert len(failing.requests) == 3 and all(x.verified for x in failing.requests)
        notice = receiver.delivered()[0]
        assert notice.type == "webhook.endpoint.disabled" and notice.data["webhook_id"] == bad
        got = (await admin.get(f"/v1/webhooks/{bad}")).json()
        assert got["enabled"] is False and "3 consecutive" in got["disabled_reason"]
        async with app.state.sessionmaker() as db:
            audit = (
                await db.execute(select(AuditEvent).where(AuditEvent.action == "webhook.disable"))
            ).scalars()
            assert [a.resource_id for a in audit] == [bad]

        failing.answer = lambda n: 200  # fixed: enabling it again sends what waited, in order
        assert (await admin.patch(f"/v1/webhooks/{bad}", json={"enabled": True})).status_code == 200
        await wait_until(lambda: len(failing.delivered()) == 2)
        assert [x.data["n"] for x in failing.delivered()] == [0, 1]
    finally:
        failing.stop()

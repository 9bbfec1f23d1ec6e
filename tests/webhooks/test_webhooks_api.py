"""/v1/webhooks: endpoints (secret shown once, rotate), the catalogue, and bad input."""

from __future__ import annotations

import httpx
from receiver import Receiver


async def test_create_shows_the_secret_once(admin: httpx.AsyncClient, receiver: Receiver) -> None:
    r = await admin.post(
        "/v1/webhooks",
        json={"url": receiver.url, "event_types": ["session.*", "job.failed"], "description": "ci"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] and created["event_types"] == ["job.failed", "session.*"]
    got = (await admin.get(f"/v1/webhooks/{created['id']}")).json()
    assert "secret" not in got and got["url"] == receiver.url
    listed = (await admin.get("/v1/webhooks")).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]

    rotated = (await admin.post(f"/v1/webhooks/{created['id']}/rotate-secret")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    r = await admin.patch(f"/v1/webhooks/{created['id']}", json={"enabled": False, "event_types": ["job.*"]})
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["event_types"] == ["job.*"]
    assert (await admin.delete(f"/v1/webhooks/{created['id']}")).status_code == 204
    assert (await admin.get(f"/v1/webhooks/{created['id']}")).status_code == 404


async def test_unknown_event_types_are_refused(admin: httpx.AsyncClient, receiver: Receiver) -> None:
    r = await admin.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["session.created", "nope.*"]}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_event_type"
    assert r.json()["error"]["details"]["unknown"] == ["nope.*"]
    types = {t["type"] for t in (await admin.get("/v1/webhooks/event-types")).json()["items"]}
    assert {
        "session.terminated",
        "command.exited",
        "assistant.usage.alert",
        "webhook.endpoint.disabled",
    } <= types


async def test_bad_urls_are_refused(admin: httpx.AsyncClient) -> None:
    for url, code in [
        ("ftp://example.com/x", "webhook_url_refused"),
        ("not a url", "webhook_url_refused"),
        ("http://does-not-exist.invalid/hook", "webhook_url_unresolvable"),
    ]:
        r = await admin.post("/v1/webhooks", json={"url": url, "event_types": ["*"]})
        assert r.status_code == 400, (url, r.text)
        assert r.json()["error"]["code"] == code, url

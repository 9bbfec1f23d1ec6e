"""SSRF: private targets are refused when an endpoint is created and again before each attempt."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from receiver import Receiver
from webhook_helpers import emit_events, wait_until

from chasm.config import Settings
from chasm.webhooks import ssrf


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_networks": []})  # loopback not allowed here


@pytest.fixture
def dns() -> Iterator[dict[str, list[str]]]:
    answers: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    saved, ssrf.resolver = ssrf.resolver, resolve
    yield answers
    ssrf.resolver = saved


@pytest.mark.parametrize(
    ("url", "answer"),
    [
        ("http://127.0.0.1:9/hook", None),
        ("http://[::1]/hook", None),
        ("http://169.254.169.254/latest/meta-data/", None),
        ("http://10.1.2.3/hook", None),
        ("http://192.168.0.10/hook", None),
        ("http://[::ffff:127.0.0.1]/hook", None),
        ("http://localhost/hook", ["127.0.0.1"]),
        ("http://metadata.internal/hook", ["169.254.169.254"]),
        ("http://mixed.example/hook", ["93.184.216.34", "10.0.0.1"]),
    ],
)
async def test_private_targets_are_refused_at_create(
    admin: httpx.AsyncClient, dns: dict[str, list[str]], url: str, answer: list[str] | None
) -> None:
    if answer is not None:
        dns[httpx.URL(url).host] = answer
    r = await admin.post("/v1/webhooks", json={"url": url, "event_types": ["*"]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "webhook_url_refused"


async def test_a_dns_answer_that_changes_is_refused_at_delivery(
    app: FastAPI, admin: httpx.AsyncClient, dns: dict[str, list[str]], settings: Settings
) -> None:
    receiver = Receiver().start()
    try:
        port = httpx.URL(receiver.url).port
        dns["hooks.example"] = ["93.184.216.34"]  # public when the endpoint is created
        r = await admin.post(
            "/v1/webhooks",
            json={"url": f"http://hooks.example:{port}/hook", "event_types": ["job.succeeded"]},
        )
        assert r.status_code == 201, r.text
        dns["hooks.example"] = ["127.0.0.1"]  # then rebinds to loopback
        account_id = (await admin.get("/v1/billing/summary")).json()["account_id"]
        await emit_events(app, account_id, 1)

        async def attempts() -> list[dict[str, object]]:
            deliveries = (await admin.get("/v1/webhooks/deliveries")).json()["items"]
            log: list[dict[str, object]] = (
                await admin.get(f"/v1/webhooks/deliveries/{deliveries[0]['id']}")
            ).json()["attempt_log"]
            return log

        seen: list[dict[str, object]] = []

        async def refreshed() -> bool:
            seen[:] = await attempts()
            return len(seen) >= 2

        for _ in range(200):
            if await refreshed():
                break
            await wait_until(lambda: True)
        assert len(seen) >= 2
        assert all("webhook_url_refused" in str(a["error"]) for a in seen)
        assert receiver.requests == []  # nothing reached the loopback receiver
    finally:
        receiver.stop()

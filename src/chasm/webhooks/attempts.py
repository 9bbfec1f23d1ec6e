"""One attempt of a delivery: its signed request (Standard Webhooks), the POST to the address the
SSRF check allowed, and its outcome."""

from __future__ import annotations

import functools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httptools
import httpx
from standardwebhooks import Webhook

from chasm import __version__
from chasm.config import Settings
from chasm.models import WebhookEvent
from chasm.webhooks import ssrf
from chasm.webhooks.exceptions import WebhookUrlRefused
from chasm.webhooks.transport import WebhookClient


@dataclass
class Outcome:
    status_code: int | None
    excerpt: str | None
    error: str | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Attempted:
    delivery_id: uuid.UUID
    event: WebhookEvent
    started: datetime
    headers: dict[str, str]
    outcome: Outcome
    number: int  # the attempt's number (the lease holder alone counts a delivery's attempts)

    def row(self) -> dict[str, Any]:
        """The attempt as a `webhook_attempts` row."""
        outcome = self.outcome
        return {
            "id": uuid.uuid4(),
            "delivery_id": self.delivery_id,
            "number": self.number,
            "started_at": self.started,
            "request_headers": {k: v for k, v in self.headers.items() if k != "host"},
            "status_code": outcome.status_code,
            "response_excerpt": outcome.excerpt,
            "error": outcome.error,
            "latency_ms": round(outcome.latency_ms, 3),
        }


def body_of(event: WebhookEvent) -> bytes:
    return json.dumps(event.payload, separators=(",", ":"), default=str).encode()


def signed_headers(signer: Webhook, event: WebhookEvent, body: bytes, now: datetime) -> dict[str, str]:
    stamp = datetime.fromtimestamp(int(now.timestamp()), tz=now.tzinfo)
    return {
        "content-type": "application/json",
        "user-agent": f"Chasm-Webhooks/{__version__}",
        "webhook-id": event.public_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signer.sign(event.public_id, stamp, body),
    }


REDIRECTS = (301, 302, 303, 307, 308)


@functools.lru_cache(maxsize=1024)
def _request_target(url: str) -> str:
    """The path and query a URL asks for, encoded as sent."""
    return httpx.URL(url).raw_path.decode("ascii")


async def send(
    client: WebhookClient, settings: Settings, url: str, headers: dict[str, str], body: bytes
) -> Outcome:
    """One POST to the checked address of `url`; no redirect is followed, the answer is read up to
    `webhook_response_max_bytes`."""
    started = time.perf_counter()
    try:
        target = await ssrf.check(url, settings.webhook_allowed_networks)
    except WebhookUrlRefused as exc:
        return Outcome(None, None, f"{exc.code}: {exc.message}", 0.0)
    default_port = 443 if target.scheme == "https" else 80
    name = f"[{target.host}]" if ":" in target.host else target.host
    host_header = name + (f":{target.port}" if target.port != default_port else "")
    key = (target.scheme, str(target.address), target.port, target.host)
    try:
        answer = await client.post(
            key,
            _request_target(url),
            host_header,
            headers,
            body,
            timeout_s=settings.webhook_timeout_s,
            max_bytes=settings.webhook_response_max_bytes,
        )
    except TimeoutError:
        return Outcome(None, None, "timeout", (time.perf_counter() - started) * 1000)
    except (OSError, httptools.HttpParserError) as exc:
        failure = f"{type(exc).__name__}: {exc}"[:1000]
        return Outcome(None, None, failure, (time.perf_counter() - started) * 1000)
    latency = (time.perf_counter() - started) * 1000
    excerpt = answer.body.decode("utf-8", "replace")
    error: str | None = None
    if answer.status in REDIRECTS and answer.location is not None:
        error = f"redirect to {answer.location} not followed"
    elif not 200 <= answer.status < 300:
        error = f"HTTP {answer.status}"
    return Outcome(answer.status, excerpt, error, latency)

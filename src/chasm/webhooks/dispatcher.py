"""The delivery worker: sends the outbox to each endpoint, in order, at least once.

One drain task per endpoint with due deliveries first claims the endpoint: an atomic UPDATE takes
a lease on it (`lease_owner`, `lease_until`) only when no other dispatcher holds one, so servers
sharing a database never drain one endpoint together (no delivery sent twice, the order kept). The
lease is extended with every committed group of outcomes, and renewed before an attempt that could
otherwise outlast it; it is released when the queue is empty (a crashed server's lease expires).

The drain takes the endpoint's pending deliveries oldest event first and stops at the first that
fails (it blocks the ones behind it until its retry, or until it is discarded, fails for good or
the endpoint is disabled). Outcomes are committed in small groups (a failure at once), so a
restart resends at most the few whose outcome was not yet committed: delivery is at least once,
and receivers dedupe on `webhook-id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httptools
import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from chasm import __version__
from chasm.audit.service import record
from chasm.config import Settings
from chasm.kit.crypto import Box
from chasm.kit.db import transaction
from chasm.kit.node import node_id
from chasm.kit.timeutil import utcnow
from chasm.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from chasm.webhooks import outbox, ssrf
from chasm.webhooks import repository as repo
from chasm.webhooks.exceptions import WebhookUrlRefused
from chasm.webhooks.transport import WebhookClient

log = logging.getLogger("chasm.webhooks")

BATCH = 100
COMMIT_EVERY = 20  # deliveries whose outcomes are committed together (a crash resends at most these)
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
LEASE_MIN_S = 30.0  # an endpoint's lease lasts this, or 4 attempt timeouts if longer
RENEW_MARGIN_S = 5.0  # renewed before an attempt when less than a timeout plus this is left


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


class Dispatcher:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        secret_key: str,
        owner: str | None = None,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.box = Box(secret_key)
        # Who holds a lease: this server's node (a restart on the same data dir takes its own
        # leases back at once; another server waits for them to expire).
        self.owner = (owner or f"server:{node_id(settings.data_dir)}")[-100:]
        self.lease_s = max(LEASE_MIN_S, 4 * settings.webhook_timeout_s)
        self._leases: dict[uuid.UUID, float] = {}  # endpoint -> when its lease ends (monotonic)
        self.waker = asyncio.Event()
        self.client = WebhookClient()
        self._drains: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._again: set[uuid.UUID] = set()  # woken while draining: look once more before stopping

    async def run(self) -> None:
        while True:
            self.waker.clear()
            try:
                await self.pump()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatch failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.waker.wait(), self.settings.webhook_dispatch_interval_s)

    async def pump(self) -> None:
        async with self.maker() as db:
            due = await repo.endpoints_with_due(db, utcnow(), self.owner)
        for endpoint_id in due:
            task = self._drains.get(endpoint_id)
            if task is None or task.done():
                self._drains[endpoint_id] = asyncio.create_task(self._drain(endpoint_id))
            else:
                self._again.add(endpoint_id)

    async def close(self) -> None:
        tasks = [t for t in self._drains.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for endpoint_id in list(self._leases):
            with contextlib.suppress(Exception):
                await self._release(endpoint_id)
        await self.client.aclose()

    async def _claim(self, endpoint_id: uuid.UUID) -> bool:
        """Take or extend this dispatcher's lease on the endpoint; False if another holds it."""
        started = time.monotonic()
        now = utcnow()
        async with transaction(self.maker) as db:
            held = await repo.claim_endpoint(
                db, endpoint_id, self.owner, now, now + timedelta(seconds=self.lease_s)
            )
        if held:
            self._leases[endpoint_id] = started + self.lease_s
        else:
            self._leases.pop(endpoint_id, None)
        return held

    async def _release(self, endpoint_id: uuid.UUID) -> None:
        self._leases.pop(endpoint_id, None)
        async with transaction(self.maker) as db:
            await repo.release_endpoint(db, endpoint_id, self.owner)

    async def _hold(self, endpoint_id: uuid.UUID) -> bool:
        """Whether this dispatcher may start an attempt: its lease outlasts the attempt (renewed
        when it might not)."""
        left = self._leases.get(endpoint_id, 0.0) - time.monotonic()
        if left > self.settings.webhook_timeout_s + RENEW_MARGIN_S:
            return True
        return await self._claim(endpoint_id)

    async def _drain(self, endpoint_id: uuid.UUID) -> None:
        try:
            if not await self._claim(endpoint_id):
                return  # another dispatcher drains this endpoint
            while True:
                self._again.discard(endpoint_id)
                while await self._drain_batch(endpoint_id):
                    pass
                if endpoint_id not in self._again:
                    break
        except asyncio.CancelledError:
            raise  # close() releases the leases left
        except Exception:
            log.exception("webhook endpoint %s: delivery failed", endpoint_id)
        if endpoint_id in self._leases:
            try:
                await self._release(endpoint_id)
            except Exception:
                log.exception("webhook endpoint %s: lease not released (it expires)", endpoint_id)
        if endpoint_id in self._again:
            self.waker.set()  # woken while releasing: look again

    async def _drain_batch(self, endpoint_id: uuid.UUID) -> bool:
        """Send a batch of the endpoint's queue in order; True if all of it went out (more may
        have come meanwhile). Outcomes are committed together, at the latest every
        `COMMIT_EVERY` deliveries (committed while the next ones are sent, one group at a time)
        and before the next attempt after a failure."""
        async with self.maker() as db:
            endpoint = await db.get(WebhookEndpoint, endpoint_id)
            if endpoint is None or not endpoint.enabled:
                return False
            queue = await repo.queue_head(db, endpoint_id, BATCH)
            url, signer = endpoint.url, Webhook(self.box.decrypt(endpoint.secret_sealed))
        done: list[Attempted] = []
        committing: asyncio.Task[bool] | None = None
        try:
            for delivery, event in queue:
                now = utcnow()
                if delivery.next_attempt_at > now or not await self._hold(endpoint_id):
                    return False
                body = body_of(event)
                headers = signed_headers(signer, event, body, now)
                outcome = await send(self.client, self.settings, url, headers, body)
                done.append(Attempted(delivery.id, event, now, headers, outcome))
                if not outcome.ok:
                    return False
                if len(done) >= COMMIT_EVERY:
                    if committing is not None and not await committing:
                        return False
                    committing = asyncio.create_task(self._record(endpoint_id, done))
                    done = []
            return bool(queue)
        finally:
            # Every outcome is committed, in order, before the queue is read again.
            if committing is not None:
                await asyncio.shield(committing)
            if done:
                await asyncio.shield(self._record(endpoint_id, done))

    async def _record(self, endpoint_id: uuid.UUID, attempts: list[Attempted]) -> bool:
        """Commit attempts (every one a success but maybe the last); answers whether the endpoint
        is still enabled."""
        started = time.monotonic()
        async with transaction(self.maker) as db:
            endpoint = await db.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return False
            if endpoint.lease_owner == self.owner and endpoint_id in self._leases:
                endpoint.lease_until = utcnow() + timedelta(seconds=self.lease_s)
                self._leases[endpoint_id] = started + self.lease_s
            deliveries = await repo.deliveries_by_id(db, [a.delivery_id for a in attempts])
            for attempt in attempts:
                delivery = deliveries.get(attempt.delivery_id)
                if delivery is not None:
                    await self._apply(db, endpoint, delivery, attempt)
            return endpoint.enabled

    async def _apply(
        self, db: AsyncSession, endpoint: WebhookEndpoint, delivery: WebhookDelivery, attempt: Attempted
    ) -> None:
        outcome = attempt.outcome
        now = utcnow()
        delivery.attempts += 1
        db.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                number=delivery.attempts,
                started_at=attempt.started,
                request_headers={k: v for k, v in attempt.headers.items() if k != "host"},
                status_code=outcome.status_code,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
                latency_ms=round(outcome.latency_ms, 3),
            )
        )
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.updated_at = now
        if delivery.status != "pending":
            return  # discarded while in flight: the outcome is kept, nothing else
        if outcome.ok:
            delivery.status = "succeeded"
            delivery.delivered_at = now
            if endpoint.consecutive_failures:
                endpoint.consecutive_failures = 0
            return
        schedule = self.settings.webhook_retry_schedule_s
        if delivery.attempts > len(schedule):
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        endpoint.consecutive_failures += 1
        if endpoint.enabled and endpoint.consecutive_failures >= self.settings.webhook_disable_after_failures:
            await _disable(db, endpoint, attempt.event)


async def _disable(db: AsyncSession, endpoint: WebhookEndpoint, event: WebhookEvent) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = f"{endpoint.consecutive_failures} consecutive failed attempts"
    endpoint.updated_at = utcnow()
    record(
        db,
        None,
        "webhook.disable",
        "webhook",
        endpoint.id,
        status="failure",
        summary=f"disabled {endpoint.url}: {endpoint.disabled_reason}",
        account_id=endpoint.account_id,
    )
    await db.flush()
    await outbox.emit(
        db,
        endpoint.account_id,
        "webhook.endpoint.disabled",
        {
            "webhook_id": str(endpoint.id),
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
            "last_event_id": event.public_id,
        },
    )


@asynccontextmanager
async def webhooks_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's dispatcher (a `chasm worker` only emits: the server delivers)."""
    outbox.use_bus(getattr(app.state, "events", None))
    if getattr(app.state, "role", "server") != "server":
        yield
        return
    dispatcher = Dispatcher(app.state.sessionmaker, app.state.settings, app.state.secret_key)
    app.state.webhook_dispatcher = dispatcher
    outbox.add_waker(dispatcher.waker)
    bus = getattr(app.state, "events", None)
    subscription = bus.subscribe(outbox.OUTBOX_TOPIC) if bus is not None else None

    async def relay() -> None:
        assert subscription is not None
        async for _event in subscription:
            dispatcher.waker.set()

    tasks = [asyncio.create_task(dispatcher.run(), name="chasm-webhooks")]
    if subscription is not None:
        tasks.append(asyncio.create_task(relay(), name="chasm-webhooks-relay"))
    try:
        yield
    finally:
        outbox.remove_waker(dispatcher.waker)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if subscription is not None:
            subscription.close()
        await dispatcher.close()
        outbox.use_bus(None)

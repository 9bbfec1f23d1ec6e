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
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from chasm.audit.service import record
from chasm.config import Settings
from chasm.kit.crypto import Box
from chasm.kit.db import transaction
from chasm.kit.node import node_id
from chasm.kit.timeutil import utcnow
from chasm.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from chasm.webhooks import outbox
from chasm.webhooks import repository as repo
from chasm.webhooks.attempts import Attempted, body_of, send, signed_headers
from chasm.webhooks.transport import WebhookClient

log = logging.getLogger("chasm.webhooks")

BATCH = 100
# Outcomes are committed in groups of at least COMMIT_EVERY deliveries; a group grows while the
# previous one is still committing, up to MAX_UNCOMMITTED (a crash resends at most about twice that).
COMMIT_EVERY = 20
MAX_UNCOMMITTED = 100
HOLD_S = 1.0  # a drained endpoint's lease is kept this long for the next event (no claim per event)
LEASE_MIN_S = 30.0  # an endpoint's lease lasts this, or 4 attempt timeouts if longer
RENEW_MARGIN_S = 5.0  # renewed before an attempt when less than a timeout plus this is left


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
        self._kicks: dict[uuid.UUID, asyncio.Event] = {}  # wakes a drain holding its lease idle
        self._chains: dict[uuid.UUID, asyncio.Task[bool]] = {}  # an endpoint's last outcome commit
        self._inflight: dict[uuid.UUID, set[uuid.UUID]] = {}  # sent, outcome not yet committed

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
                kick = self._kicks.get(endpoint_id)
                if kick is not None:
                    kick.set()

    def kick(self, endpoints: frozenset[uuid.UUID]) -> None:
        """New deliveries committed for these endpoints: a drain holding one's lease sends now."""
        for endpoint_id in endpoints:
            kick = self._kicks.get(endpoint_id)
            task = self._drains.get(endpoint_id)
            if kick is not None and task is not None and not task.done():
                self._again.add(endpoint_id)
                kick.set()

    async def close(self) -> None:
        tasks = [t for t in self._drains.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        chains = [t for t in self._chains.values() if not t.done()]
        if chains:
            await asyncio.wait(chains, timeout=5)
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

    async def _next_event(self, endpoint_id: uuid.UUID) -> bool:
        """Wait up to HOLD_S for the endpoint's next event, the lease held; False if none came."""
        kick = self._kicks.setdefault(endpoint_id, asyncio.Event())
        kick.clear()
        try:
            await asyncio.wait_for(kick.wait(), HOLD_S)
        except TimeoutError:
            return endpoint_id in self._again
        return True

    async def _drain(self, endpoint_id: uuid.UUID) -> None:
        try:
            if not await self._claim(endpoint_id):
                return  # another dispatcher drains this endpoint
            while True:
                self._again.discard(endpoint_id)
                while await self._drain_batch(endpoint_id):
                    pass
                if endpoint_id not in self._leases:
                    break  # the lease was lost (another dispatcher has the endpoint now)
                if endpoint_id not in self._again and not await self._next_event(endpoint_id):
                    break
        except asyncio.CancelledError:
            raise  # close() releases the leases left
        except Exception:
            log.exception("webhook endpoint %s: delivery failed", endpoint_id)
        if endpoint_id in self._leases:
            try:
                await self._settled(endpoint_id)
                await self._release(endpoint_id)
            except Exception:
                log.exception("webhook endpoint %s: lease not released (it expires)", endpoint_id)
        if endpoint_id in self._again:
            self.waker.set()  # woken while releasing: look again

    async def _drain_batch(self, endpoint_id: uuid.UUID) -> bool:
        """Send a batch of the endpoint's queue in order; True if it was a full batch (read on at
        once). Successes are committed in groups in the background, one group after the other,
        while the next ones are sent (and the next batch read: deliveries sent but not yet
        committed are left out of it); a failure is committed before anything else is sent."""
        inflight = self._inflight.setdefault(endpoint_id, set())
        async with self.maker() as db:
            endpoint = await db.get(WebhookEndpoint, endpoint_id)
            if endpoint is None or not endpoint.enabled:
                return False
            queue = await repo.queue_head(db, endpoint_id, BATCH, exclude=inflight)
            url, signer = endpoint.url, Webhook(self.box.decrypt(endpoint.secret_sealed))
        done: list[Attempted] = []
        try:
            for delivery, event in queue:
                now = utcnow()
                if delivery.next_attempt_at > now or not await self._hold(endpoint_id):
                    return False
                body = body_of(event)
                headers = signed_headers(signer, event, body, now)
                outcome = await send(self.client, self.settings, url, headers, body)
                done.append(Attempted(delivery.id, event, now, headers, outcome, delivery.attempts + 1))
                if not outcome.ok:
                    return False
                inflight.add(delivery.id)
                if len(done) >= COMMIT_EVERY:
                    chain = self._chains.get(endpoint_id)
                    if chain is not None and not chain.done() and len(done) < MAX_UNCOMMITTED:
                        continue  # the previous group is still committing: this one grows meanwhile
                    if not await self._settled(endpoint_id):
                        return False
                    self._commit(endpoint_id, done)
                    done = []
            return len(queue) == BATCH
        finally:
            if done:
                self._commit(endpoint_id, done)
                if not done[-1].outcome.ok:
                    await self._settled(endpoint_id)

    def _commit(self, endpoint_id: uuid.UUID, attempts: list[Attempted]) -> None:
        """Record `attempts` after the groups before them."""
        previous = self._chains.get(endpoint_id)
        task = asyncio.create_task(self._record_after(previous, endpoint_id, attempts))
        task.add_done_callback(_log_failure)
        self._chains[endpoint_id] = task

    async def _record_after(
        self, previous: asyncio.Task[bool] | None, endpoint_id: uuid.UUID, attempts: list[Attempted]
    ) -> bool:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        try:
            return await self._record(endpoint_id, attempts)
        finally:
            # Committed (or not: then sent again, at least once) and read again from the queue.
            self._inflight.get(endpoint_id, set()).difference_update(a.delivery_id for a in attempts)

    async def _settled(self, endpoint_id: uuid.UUID) -> bool:
        """Wait until every outcome sent to the endpoint is committed; False if the endpoint is
        no longer enabled (or its last commit failed)."""
        chain = self._chains.get(endpoint_id)
        if chain is None:
            return True
        try:
            return await asyncio.shield(chain)
        except asyncio.CancelledError:
            raise
        except Exception:
            return False

    async def _record(self, endpoint_id: uuid.UUID, attempts: list[Attempted]) -> bool:
        """Commit attempts (every one a success but maybe the last); answers whether the endpoint
        is still enabled. Successes are written in two statements for the whole group."""
        started = time.monotonic()
        async with transaction(self.maker) as db:
            endpoint = await db.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return False
            if endpoint.lease_owner == self.owner and endpoint_id in self._leases:
                endpoint.lease_until = utcnow() + timedelta(seconds=self.lease_s)
                self._leases[endpoint_id] = started + self.lease_s
            succeeded = [a for a in attempts if a.outcome.ok]
            if succeeded:
                await repo.record_successes(db, [a.row() for a in succeeded], utcnow())
                if endpoint.consecutive_failures:
                    endpoint.consecutive_failures = 0
            for attempt in attempts:
                if not attempt.outcome.ok:
                    delivery = await db.get(WebhookDelivery, attempt.delivery_id)
                    if delivery is not None:
                        await self._apply(db, endpoint, delivery, attempt)
            return endpoint.enabled

    async def _apply(
        self, db: AsyncSession, endpoint: WebhookEndpoint, delivery: WebhookDelivery, attempt: Attempted
    ) -> None:
        """A failed attempt: kept, and the delivery retried later (or failed for good)."""
        outcome = attempt.outcome
        now = utcnow()
        delivery.attempts += 1
        db.add(WebhookAttempt(**{**attempt.row(), "number": delivery.attempts}))
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.updated_at = now
        if delivery.status != "pending":
            return  # discarded while in flight: the outcome is kept, nothing else
        schedule = self.settings.webhook_retry_schedule_s
        if delivery.attempts > len(schedule):
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        endpoint.consecutive_failures += 1
        if endpoint.enabled and endpoint.consecutive_failures >= self.settings.webhook_disable_after_failures:
            await _disable(db, endpoint, attempt.event)


def _log_failure(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webhook outcomes not committed (they are sent again)", exc_info=task.exception())


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
    outbox.add_kicker(dispatcher.kick)
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
        outbox.remove_kicker(dispatcher.kick)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if subscription is not None:
            subscription.close()
        await dispatcher.close()
        outbox.use_bus(None)

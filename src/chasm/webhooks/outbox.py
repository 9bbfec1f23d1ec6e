"""`emit`: how a service reports an event of the catalogue.

The event and one delivery per subscribed endpoint are written in the caller's transaction, so an
event exists exactly when the change it reports was committed, and survives any restart. After the
commit the dispatcher is woken (in this process at once, in others through the event bus).

The session.* and workspace.* events are also published on the event bus once committed, topic =
the event type, payload `{"account_id", ...data}`: `/ws` delivers them to the account's dashboards
(chasm.realtime.endpoints), whether or not any webhook endpoint subscribed."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.jobs.runtime import after_commit
from chasm.kit.events import EventBus, RedisEventBus
from chasm.kit.timeutil import utcnow
from chasm.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from chasm.webhooks import repository as repo
from chasm.webhooks.catalogue import EVENT_TYPES, subscribed

log = logging.getLogger("chasm.webhooks")
OUTBOX_TOPIC = "webhook.outbox"
LIVE_PREFIXES = ("session.", "workspace.")  # also published on the bus (`/ws`)

_wakers: set[asyncio.Event] = set()
# Told which endpoints got deliveries as soon as they commit (a dispatcher draining one of them
# sends at once, without looking for due endpoints first).
_kickers: set[Callable[[frozenset[uuid.UUID]], None]] = set()
_bus: list[EventBus] = []  # the process's bus, once its lifespan started
_publishing: set[asyncio.Task[None]] = set()


def add_waker(waker: asyncio.Event) -> None:
    _wakers.add(waker)


def remove_waker(waker: asyncio.Event) -> None:
    _wakers.discard(waker)


def add_kicker(kicker: Callable[[frozenset[uuid.UUID]], None]) -> None:
    _kickers.add(kicker)


def remove_kicker(kicker: Callable[[frozenset[uuid.UUID]], None]) -> None:
    _kickers.discard(kicker)


def use_bus(bus: EventBus | None) -> None:
    _bus.clear()
    if bus is not None:
        _bus.append(bus)


def wake() -> None:
    for waker in list(_wakers):
        waker.set()


def _after_commit(endpoints: frozenset[uuid.UUID] = frozenset()) -> None:
    if endpoints:
        for kicker in list(_kickers):
            kicker(endpoints)
    wake()
    # Tell the dispatchers of other processes (a `chasm worker` has none; another server may hold
    # the endpoint's lease): through Redis, or the bus of a process without a dispatcher.
    if _bus and (not _wakers or isinstance(_bus[0], RedisEventBus)):
        task = asyncio.get_running_loop().create_task(_bus[0].publish(OUTBOX_TOPIC, {}))
        _publishing.add(task)
        task.add_done_callback(_publishing.discard)


def _publish_after_commit(db: AsyncSession, bus: EventBus, topic: str, payload: dict[str, Any]) -> None:
    def publish() -> None:
        task = asyncio.get_running_loop().create_task(_publish(bus, topic, payload))
        _publishing.add(task)
        task.add_done_callback(_publishing.discard)

    after_commit(db, publish)


async def _publish(bus: EventBus, topic: str, payload: dict[str, Any]) -> None:
    try:
        await bus.publish(topic, payload)
    except Exception:  # the change is committed; its live update is a courtesy
        log.warning("could not publish %s", topic, exc_info=True)


def after_commit_wake(db: AsyncSession) -> None:
    """Wake the dispatcher once this transaction commits (a replay, a re-enabled endpoint)."""
    after_commit(db, _after_commit)


_CACHE = "chasm_webhook_endpoints"


async def _endpoints(db: AsyncSession, account_id: uuid.UUID) -> list[WebhookEndpoint]:
    """The account's enabled endpoints, read once per transaction (a burst of events in one
    transaction asks once)."""
    transaction = db.sync_session.get_transaction()
    cached = db.info.get(_CACHE)
    if cached is None or cached[0] is not transaction:
        cached = db.info[_CACHE] = (transaction, {})
    found: dict[uuid.UUID, list[WebhookEndpoint]] = cached[1]
    if account_id not in found:
        found[account_id] = list(await repo.endpoints_of(db, account_id))
    return found[account_id]


async def emit(db: AsyncSession, account_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """Queue `event_type` for every enabled endpoint of the account subscribed to it."""
    assert event_type in EVENT_TYPES, event_type
    if _bus and event_type.startswith(LIVE_PREFIXES):
        _publish_after_commit(db, _bus[0], event_type, {"account_id": str(account_id), **data})
    endpoints = [e for e in await _endpoints(db, account_id) if subscribed(e.event_types, event_type)]
    if not endpoints:
        return
    now = utcnow()
    event = WebhookEvent(
        public_id=f"msg_{uuid.uuid4().hex}",
        account_id=account_id,
        type=event_type,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
        created_at=now,
    )
    db.add(event)
    for endpoint in endpoints:
        db.add(
            WebhookDelivery(
                account_id=account_id,
                endpoint_id=endpoint.id,
                event=event,
                event_type=event_type,
                next_attempt_at=now,
                created_at=now,
            )
        )
    after_commit(db, functools.partial(_after_commit, frozenset(e.id for e in endpoints)))

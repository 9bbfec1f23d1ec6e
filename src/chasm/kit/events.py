"""Publish/subscribe of small JSON events by topic (`job.updated`, ...).

`EventBus` delivers to in-process subscribers; `RedisEventBus` sends every event through Redis
pub/sub so that subscribers in every server and worker process see it. Each subscriber has a
bounded queue: a slow subscriber loses its oldest events and then receives one gap marker
(`Event(topic="gap", payload={"dropped": n})`) before the events that follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("chasm.events")

GAP_TOPIC = "gap"


@dataclass(frozen=True)
class Event:
    topic: str
    payload: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """An async iterator of the events whose topic matches a shell-style pattern (`job.*`)."""

    def __init__(self, bus: EventBus, pattern: str, maxsize: int) -> None:
        self.pattern = pattern
        self._bus = bus
        self._events: deque[Event] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self._dropped = 0  # lost since the last read: reported as one gap marker first
        self._closed = False

    def matches(self, topic: str) -> bool:
        return fnmatch.fnmatchcase(topic, self.pattern)

    def deliver(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self._dropped += 1  # the deque drops its oldest event on append
        self._events.append(event)
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        return await self.get()

    async def get(self, timeout: float | None = None) -> Event:
        """The next event (or gap marker); `TimeoutError` when none comes within `timeout` s."""
        while not self._events and not self._dropped:
            self._ready.clear()
            await asyncio.wait_for(self._ready.wait(), timeout)
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            return Event(GAP_TOPIC, {"dropped": dropped})
        return self._events.popleft()

    def close(self) -> None:
        self._closed = True
        self._bus._remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """In-process bus: `publish` hands the event to every matching subscriber at once."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscriptions: list[Subscription] = []

    def subscribe(self, pattern: str = "*") -> Subscription:
        subscription = Subscription(self, pattern, self.queue_size)
        self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    def _fan_out(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            if subscription.matches(event.topic):
                subscription.deliver(event)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._fan_out(Event(topic, payload))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscriptions.clear()


class RedisEventBus(EventBus):
    """Events go through Redis pub/sub; one listener per bus fans them out to local subscribers."""

    def __init__(self, url: str, prefix: str = "chasm:events:", queue_size: int = 1000) -> None:
        super().__init__(queue_size)
        from redis.asyncio import Redis

        self.prefix = prefix
        self._redis: Any = Redis.from_url(url)
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.psubscribe(f"{self.prefix}*")
        self._listener = asyncio.create_task(self._listen(), name="chasm-events-redis")

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event bus lost its Redis subscription; retrying")
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            try:
                payload = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            self._fan_out(Event(channel[len(self.prefix) :], payload))

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        await self._redis.publish(f"{self.prefix}{topic}", json.dumps(payload, default=str))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()
        await super().close()


def create_bus(redis_url: str | None, prefix: str = "chasm:events:") -> EventBus:
    return RedisEventBus(redis_url, prefix) if redis_url else EventBus()


@asynccontextmanager
async def events_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The server's bus on `app.state.events` (Redis-backed when `redis_url` is set)."""
    bus = create_bus(app.state.settings.redis_url)
    await bus.start()
    app.state.events = bus
    try:
        yield
    finally:
        await bus.close()

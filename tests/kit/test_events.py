"""The event bus: topic patterns, slow subscribers, and Redis pub/sub between bus instances."""

from __future__ import annotations

import uuid

import pytest

from chasm.kit.events import GAP_TOPIC, EventBus, RedisEventBus

REDIS_URL = "redis://127.0.0.1:6379/15"


async def test_subscribers_get_the_topics_they_match() -> None:
    bus = EventBus()
    jobs = bus.subscribe("job.*")
    everything = bus.subscribe()
    await bus.publish("job.updated", {"id": 1})
    await bus.publish("session.created", {"id": 2})
    assert (await jobs.get(timeout=1)).payload == {"id": 1}
    assert [(await everything.get(timeout=1)).topic for _ in range(2)] == ["job.updated", "session.created"]
    with pytest.raises(TimeoutError):
        await jobs.get(timeout=0.05)
    jobs.close()
    await bus.publish("job.updated", {"id": 3})
    assert (await everything.get(timeout=1)).payload == {"id": 3}
    await bus.close()


async def test_slow_subscriber_loses_oldest_events_and_sees_a_gap() -> None:
    bus = EventBus(queue_size=3)
    async with bus.subscribe("n") as slow:
        for n in range(10):
            await bus.publish("n", {"n": n})
        gap = await slow.get(timeout=1)
        assert gap.topic == GAP_TOPIC and gap.payload == {"dropped": 7}
        assert [(await slow.get(timeout=1)).payload["n"] for _ in range(3)] == [7, 8, 9]
        await bus.publish("n", {"n": 10})
        assert (await slow.get(timeout=1)).payload == {"n": 10}
    await bus.close()


async def test_redis_buses_see_each_others_events() -> None:
    prefix = f"chasm-test-{uuid.uuid4().hex}:"
    first, second = RedisEventBus(REDIS_URL, prefix), RedisEventBus(REDIS_URL, prefix)
    await first.start()
    await second.start()
    try:
        on_first = first.subscribe("job.*")
        on_second = second.subscribe("job.*")
        await first.publish("job.updated", {"id": "a", "status": "running"})
        await second.publish("job.updated", {"id": "b", "status": "queued"})
        for subscription in (on_first, on_second):
            got = {(await subscription.get(timeout=5)).payload["id"] for _ in range(2)}
            assert got == {"a", "b"}
        await first.publish("other.topic", {})
        with pytest.raises(TimeoutError):
            await on_second.get(timeout=0.2)
    finally:
        await first.close()
        await second.close()

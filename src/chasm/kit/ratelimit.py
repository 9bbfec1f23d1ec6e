"""Fixed-window request counters: in-process (one server) or Redis (several servers share a budget).

A counter is identified by a key and a window length; `hit` adds one request to the current window
and answers how many requests that window has seen and when it ends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class WindowCount:
    count: int  # requests in the current window, this one included
    reset_at: float  # epoch seconds at which the window ends


class RateLimitBackend(Protocol):
    async def hit(self, key: str, window_s: int) -> WindowCount: ...

    async def close(self) -> None: ...


def _window(window_s: int, now: float) -> tuple[int, float]:
    index = int(now // window_s)
    return index, (index + 1) * window_s


class MemoryRateLimitBackend:
    """Counters in a dict of key -> (window index, count, window end); ended windows are pruned."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int, float]] = {}
        self._lock = asyncio.Lock()
        self._next_prune = 0.0

    async def hit(self, key: str, window_s: int) -> WindowCount:
        now = time.time()
        index, reset_at = _window(window_s, now)
        slot = f"{key}:{window_s}"
        async with self._lock:
            if now >= self._next_prune:
                self._windows = {k: v for k, v in self._windows.items() if v[2] > now}
                self._next_prune = now + 1.0
            current = self._windows.get(slot)
            count = current[1] + 1 if current is not None and current[0] == index else 1
            self._windows[slot] = (index, count, reset_at)
        return WindowCount(count, reset_at)

    async def close(self) -> None:
        self._windows.clear()


# INCR the window's counter and set its expiry on first use, in one atomic step.
_HIT_SCRIPT = """
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return c
"""


class RedisRateLimitBackend:
    """Counters in Redis, incremented atomically by a Lua script, expiring with their window."""

    def __init__(self, url: str, prefix: str = "chasm:rl:") -> None:
        from redis.asyncio import Redis

        self.prefix = prefix
        self._redis: Any = Redis.from_url(url)
        self._script = self._redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, window_s: int) -> WindowCount:
        index, reset_at = _window(window_s, time.time())
        count = await self._script(
            keys=[f"{self.prefix}{key}:{window_s}:{index}"], args=[(window_s + 1) * 1000]
        )
        return WindowCount(int(count), reset_at)

    async def close(self) -> None:
        await self._redis.aclose()


def create_backend(redis_url: str | None, prefix: str = "chasm:rl:") -> RateLimitBackend:
    if redis_url:
        return RedisRateLimitBackend(redis_url, prefix)
    return MemoryRateLimitBackend()

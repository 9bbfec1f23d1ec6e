"""The in-process caches of the server, named, so POST /system/cache/clear can empty them all.

A domain that keeps a cache registers a function that empties it and returns how many entries it
dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_CLEARERS: dict[str, Callable[[], int]] = {}


def register(name: str, clear: Callable[[], int]) -> None:
    _CLEARERS[name] = clear


def register_lru(name: str, cached: Any) -> None:
    """Register a functools.lru_cache-wrapped function."""

    def clear() -> int:
        entries = int(cached.cache_info().currsize)
        cached.cache_clear()
        return entries

    register(name, clear)


def clear_all() -> dict[str, int]:
    """Empty every registered cache: {name: entries dropped}."""
    return {name: clear() for name, clear in sorted(_CLEARERS.items())}

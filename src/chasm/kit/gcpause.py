"""The cyclic garbage collector paused while a block builds many short-lived objects.

A harvest parse keeps one dict per record; a long chat's answer builds a row, a dict and a model
per message. Neither leaves reference cycles behind, yet each allocation counts towards the next
collection: the collector would walk those growing heaps again and again (a 2,000-message chat's
answer spent about a third of its time in it). Pauses are counted across threads and coroutines:
the collector resumes after the last one ends, and only if it was running when the first began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = False


def pause_gc() -> None:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1


def resume_gc() -> None:
    global _holders
    with _lock:
        _holders -= 1
        if _holders == 0 and _was_enabled:
            gc.enable()


@contextlib.contextmanager
def gc_pause() -> Iterator[None]:
    """The collector paused while the block runs (nested and concurrent pauses are counted)."""
    pause_gc()
    try:
        yield
    finally:
        resume_gc()

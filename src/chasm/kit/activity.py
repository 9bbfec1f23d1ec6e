"""Foreground write activity of a server process, for background work that gives way to it.

A writer (the recording writer) marks each stretch of work (`busy()`) and each request it takes
(`touch()`); background work (the semantic indexer) asks how long the process has been free of
them (`idle_for()`) and for what part of the last second or so a write was under way
(`busy_share()`: a burst keeps its writer busy nearly all the time, a slow steady stream hardly),
and runs in the pauses. Library events alone said too little: during a recording burst on a loaded machine
a group commit can take longer than the indexer's pause, so it saw a pause in the middle of the
burst and took the CPU and the GIL from it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class WriteActivity:
    def __init__(self) -> None:
        self.running = 0  # stretches of work under way
        self.last = 0.0  # time.monotonic() when the last one ended or a request came in
        self._since = 0.0  # when the stretches under way began (running > 0)
        self._busy_total = 0.0  # seconds with a stretch under way, up to the last one that ended
        self._sample = (time.monotonic(), 0.0)
        self._share = 0.0

    def touch(self) -> None:
        self.last = time.monotonic()

    @contextmanager
    def busy(self) -> Iterator[None]:
        if not self.running:
            self._since = time.monotonic()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self.last = time.monotonic()
            if not self.running:
                self._busy_total += self.last - self._since

    def idle_for(self) -> float:
        """Seconds since the last write ended (0 while one is under way)."""
        return 0.0 if self.running else time.monotonic() - self.last

    def _busy_seconds(self, now: float) -> float:
        return self._busy_total + (now - self._since if self.running else 0.0)

    def busy_share(self, window: float = 1.0) -> float:
        """The part (0 to 1) of the last `window` seconds or more during which a write was under
        way; sampled when asked, so the first answer after a long gap averages over that gap."""
        now = time.monotonic()
        then, busy_then = self._sample
        if now - then >= window:
            busy = self._busy_seconds(now)
            self._share = (busy - busy_then) / (now - then)
            self._sample = (now, busy)
        return self._share

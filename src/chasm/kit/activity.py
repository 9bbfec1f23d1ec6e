"""Foreground write activity of a server process, for background work that gives way to it.

A writer (the recording writer) marks each stretch of work (`busy()`) and each request it takes
(`touch()`); background work (the semantic indexer) asks how long the process has been free of
them (`idle_for()`) and for how long writes were under way while it waited (`busy_seconds()`: a
burst keeps its writer busy nearly all the time, a slow steady stream hardly), and runs in the
pauses. Library events alone said too little: during a recording burst on a loaded machine
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

    def busy_seconds(self) -> float:
        """Seconds during which a write was under way since the process started: the difference
        between two readings, over the time between them, is how busy the writers were."""
        extra = time.monotonic() - self._since if self.running else 0.0
        return self._busy_total + extra

"""Connection leases: every open PTY WebSocket, SSE stream and gateway WebSocket holds one.

Leases live in the server process (a connection cannot outlive it); the count is what
`active_connection_leases` reports and what makes a plain terminate answer 409.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class LeaseRegistry:
    def __init__(self) -> None:
        self._leases: dict[str, dict[int, str]] = defaultdict(dict)
        self._ids = itertools.count(1)
        self.last_activity: dict[str, float] = {}  # session id -> time.monotonic() of last use

    def count(self, session_id: str) -> int:
        return len(self._leases.get(session_id, {}))

    def touch(self, session_id: str) -> None:
        self.last_activity[session_id] = time.monotonic()

    def idle_for(self, session_id: str) -> float | None:
        """Seconds since the last activity seen by this process (None: none seen)."""
        if self.count(session_id):
            return 0.0
        seen = self.last_activity.get(session_id)
        return None if seen is None else time.monotonic() - seen

    @contextmanager
    def hold(self, session_id: str, kind: str) -> Iterator[int]:
        lease_id = next(self._ids)
        self._leases[session_id][lease_id] = kind
        self.touch(session_id)
        try:
            yield lease_id
        finally:
            held = self._leases.get(session_id)
            if held is not None:
                held.pop(lease_id, None)
                if not held:
                    del self._leases[session_id]
            self.touch(session_id)

    def active_within(self, seconds: float) -> set[str]:
        """Sessions holding a lease or used by this process in the last `seconds`."""
        since = time.monotonic() - seconds
        return set(self._leases) | {sid for sid, seen in self.last_activity.items() if seen >= since}

    def forget(self, session_id: str) -> None:
        self.last_activity.pop(session_id, None)

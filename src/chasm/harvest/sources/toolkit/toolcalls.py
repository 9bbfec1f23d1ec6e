"""Tool results attached to the calls they answer."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from chasm.harvest.model import ParsedMessage, ToolCall


class ToolCallIndex:
    """Tool calls by id, to attach results that arrive later. A result without an id goes to the
    oldest call still waiting; a result naming an unknown id only to a call that has no id of its
    own (so a lost result never shifts the others)."""

    def __init__(self) -> None:
        self._by_id: dict[str, ToolCall] = {}
        self._pending: deque[ToolCall] = deque()  # every call, oldest first
        self._pending_anonymous: deque[ToolCall] = deque()  # calls without an id
        self._resolved: set[int] = set()

    def add(self, call: ToolCall) -> None:
        if call.id:
            self._by_id[call.id] = call
        else:
            self._pending_anonymous.append(call)
        self._pending.append(call)

    def get(self, call_id: str | None) -> ToolCall | None:
        return self._by_id.get(call_id) if call_id else None

    def resolve(self, call_id: str | None, output: str | None, is_error: bool = False) -> ToolCall | None:
        """Attach a result; the call it went to, or None when no call is waiting for it. An error
        stays an error when a call gets a second result."""
        call = self.get(call_id)
        if call is None:
            call = self._oldest(self._pending if call_id is None else self._pending_anonymous)
        if call is None:
            return None
        call.output = output
        call.is_error = call.is_error or is_error
        self._resolved.add(id(call))
        return call

    def unresolved_ids(self) -> list[str]:
        return [c.id for c in self._pending if c.id and id(c) not in self._resolved]

    def _oldest(self, queue: deque[ToolCall]) -> ToolCall | None:
        while queue and id(queue[0]) in self._resolved:
            queue.popleft()
        return queue[0] if queue else None


def tool_message(
    tool_id: str | None, output: str, is_error: bool, timestamp: datetime | None
) -> ParsedMessage:
    """A tool result whose call is not in this parse (for example it came before a resume offset)."""
    meta: dict[str, Any] = {"tool_use_id": tool_id}
    if is_error:
        meta["is_error"] = True
    return ParsedMessage(role="tool", content=output, timestamp=timestamp, metadata=meta)

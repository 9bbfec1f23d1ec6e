"""One run at a time in a workspace's sandbox. An agent's runs share its workspace (its files carry
from run to run) and a workspace has one live sandbox session, so two runs at once would type into
the same machine, and the first to end would end the other's session. A run claims the workspace
at its first sandbox tool call and keeps it until it ends; a second run's sandbox call waits for
it (within its own time limit) and is told that it waited. The agents of one swarm run share the
claim of the swarm's workspace (they take turns anyway: a coordinator waits for its worker).

Claims live in this process, as the sandbox runtime's own per-workspace locks do (a workspace's
session is served by one node)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

Key = tuple[uuid.UUID, str]  # (account, workspace name folded)


@dataclass
class WorkspaceClaims:
    _held: dict[Key, tuple[str, int]] = field(default_factory=dict)  # key -> (owner, depth)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def acquire(self, key: Key, owner: str) -> float:
        """Claim `key` for `owner` (again, when it holds it already); the seconds it waited."""
        started = time.monotonic()
        async with self._changed:
            await self._changed.wait_for(lambda: key not in self._held or self._held[key][0] == owner)
            _owner, depth = self._held.get(key, (owner, 0))
            self._held[key] = (owner, depth + 1)
        return time.monotonic() - started

    async def release(self, key: Key, owner: str) -> None:
        async with self._changed:
            held = self._held.get(key)
            if held is None or held[0] != owner:
                return
            if held[1] > 1:
                self._held[key] = (owner, held[1] - 1)
            else:
                del self._held[key]
                self._changed.notify_all()

    def holder(self, key: Key) -> str | None:
        held = self._held.get(key)
        return held[0] if held else None


def claims_of(app: Any) -> WorkspaceClaims:
    claims = getattr(app.state, "agent_workspace_claims", None)
    if not isinstance(claims, WorkspaceClaims):
        claims = app.state.agent_workspace_claims = WorkspaceClaims()
    return claims


def key_of(account_id: uuid.UUID, workspace: str) -> Key:
    return (account_id, workspace.casefold())

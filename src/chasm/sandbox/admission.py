"""This process's share of sandbox admission: per-account locks, and claims of the starts whose
rows are not committed yet. The quotas themselves are the sessions domain's policy
(`chasm.sessions.admission`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

CLAIM_TTL_S = 600.0  # a claim whose transaction never reported its end (should not happen)


@dataclass
class Claim:
    memory_bytes: int
    expires: float


@dataclass
class Admission:
    """This process's share of admission: per-account locks and claims of uncommitted starts."""

    locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)
    claims: dict[uuid.UUID, list[Claim]] = field(default_factory=dict)

    def lock(self, account_id: uuid.UUID) -> asyncio.Lock:
        return self.locks.setdefault(account_id, asyncio.Lock())

    def pending(self, account_id: uuid.UUID) -> list[Claim]:
        held = self.claims.get(account_id)
        if not held:
            return []
        now = time.monotonic()
        held[:] = [c for c in held if c.expires > now]  # in place: release callbacks hold the list
        return list(held)

    def claim(self, db: AsyncSession, account_id: uuid.UUID, memory_bytes: int) -> None:
        """Count a start until the request's transaction commits (its row is then visible to
        every count) or rolls back (it never happened)."""
        claim = Claim(memory_bytes, time.monotonic() + CLAIM_TTL_S)
        held = self.claims.setdefault(account_id, [])
        held.append(claim)
        _on_transaction_end(db, lambda: held.remove(claim) if claim in held else None)


_RELEASE = "chasm_admission_release"


def _on_transaction_end(db: AsyncSession, callback: Callable[[], None]) -> None:
    """Run callback once the session's outermost transaction ends (commit, rollback or close)."""
    sync = db.sync_session
    callbacks: list[Callable[[], None]] | None = sync.info.get(_RELEASE)
    if callbacks is None:
        callbacks = sync.info[_RELEASE] = []

        def ended(_session: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None:
                while callbacks:
                    callbacks.pop()()

        event.listen(sync, "after_transaction_end", ended)
    callbacks.append(callback)

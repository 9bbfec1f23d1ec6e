"""A short-lived cache of resolved callers, emptied at once when anything it depends on changes.

Authentication runs on every request; resolving an API key or a JWT's user to an `Actor` costs a
database session and one to three queries. `PrincipalCache` keeps the resolved `Actor` for
`principal_cache_ttl_s` seconds (default 10), keyed by the credential (API key hash, or user and
account selector).

Invalidation is by change, not by time: a flush that writes an API key (other than its
`last_used_at`), an account, a user, a membership or a service account (ORM objects, or ORM bulk
`UPDATE`/`DELETE` of those tables) marks its session; when that session commits, the cache of the
app that owns the session is emptied before `commit()` returns, and `auth.changed` is published on
the event bus, whose subscribers (every server process, through Redis when `CHASM_REDIS_URL` is
set) empty theirs. A resolution that started before an invalidation is not stored (generation
check), so it cannot bring back a stale entry. The TTL only bounds what a missed event costs (a
process without Redis, a change made by another program such as the `chasm` CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.util.concurrency import await_

from chasm.auth.actor import Actor
from chasm.kit.events import EventBus
from chasm.models import Account, ApiKey, Membership, ServiceAccount, User

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("chasm.auth")

TOPIC = "auth.changed"
INFO_KEY = "chasm.principal_cache"  # session.info: the cache of the app whose sessionmaker made it
CHANGED_KEY = "chasm.principals_changed"  # session.info: this transaction changed a principal
MAX_ENTRIES = 10_000
PRINCIPAL_TABLES = (ApiKey, Account, User, Membership, ServiceAccount)
# Written on use, not by an administrator: no resolution depends on them.
BOOKKEEPING = {ApiKey: {"last_used_at"}, User: {"last_login_at"}}


class PrincipalCache:
    def __init__(self, ttl_s: float, bus: EventBus | None = None) -> None:
        self.ttl_s = ttl_s
        self.bus = bus
        self.generation = 0
        self._entries: dict[Hashable, tuple[float, Actor]] = {}

    def get(self, key: Hashable) -> Actor | None:
        """A fresh copy of the cached actor (its `extra` is per request), or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return replace(found[1], extra={})

    def put(self, key: Hashable, actor: Actor, generation: int) -> None:
        """Store what was resolved since `generation` was read, unless something changed since."""
        if self.ttl_s <= 0 or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl_s, replace(actor, extra={}))

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def publish(self) -> None:
        if self.bus is not None:
            await self.bus.publish(TOPIC, {})

    async def listen(self) -> None:
        """Empty the cache whenever any process publishes a change (runs for the server's life)."""
        assert self.bus is not None
        async with self.bus.subscribe(TOPIC) as changes:
            async for _ in changes:
                self.clear()


def _changes_principals(db: Session) -> bool:
    if any(isinstance(obj, Membership) for obj in db.new):
        return True
    if any(isinstance(obj, PRINCIPAL_TABLES) for obj in db.deleted):
        return True
    for obj in db.dirty:
        if not isinstance(obj, PRINCIPAL_TABLES):
            continue
        ignored = BOOKKEEPING.get(type(obj), set())
        state = instance_state(obj)
        if any(attr.history.has_changes() for attr in state.attrs if attr.key not in ignored):
            return True
    return False


@event.listens_for(Session, "after_flush")
def _mark_flush(db: Session, _flush: UOWTransaction) -> None:
    if INFO_KEY in db.info and _changes_principals(db):
        db.info[CHANGED_KEY] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_bulk(state: ORMExecuteState) -> None:
    if INFO_KEY not in state.session.info or not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ in PRINCIPAL_TABLES:
        state.session.info[CHANGED_KEY] = True


@event.listens_for(Session, "after_commit")
def _invalidate(db: Session) -> None:
    if not db.info.pop(CHANGED_KEY, False):
        return
    cache: PrincipalCache = db.info[INFO_KEY]
    cache.clear()
    try:
        # Inside AsyncSession.commit(): wait for the publish, so that the request that revoked a
        # key answers only once the other processes have been sent the change.
        await_(cache.publish())
    except Exception:
        log.exception("could not publish %s; other processes keep entries up to %s s", TOPIC, cache.ttl_s)


@event.listens_for(Session, "after_rollback")
def _forget(db: Session) -> None:
    db.info.pop(CHANGED_KEY, None)


@asynccontextmanager
async def principals_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """`app.state.principals`, told of changes by this app's sessions and by the event bus."""
    bus: EventBus | None = getattr(app.state, "events", None)
    cache = PrincipalCache(app.state.settings.principal_cache_ttl_s, bus)
    app.state.principals = cache
    app.state.sessionmaker.configure(info={INFO_KEY: cache})
    listener = asyncio.create_task(cache.listen(), name="chasm-principals") if bus is not None else None
    try:
        yield
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


def cache_of(app: Any) -> PrincipalCache | None:
    cache: PrincipalCache | None = getattr(app.state, "principals", None)
    return cache

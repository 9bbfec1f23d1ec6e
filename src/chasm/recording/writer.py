"""Group commit of recording batches: the requests and WebSocket messages waiting to be stored are
written together, one transaction for all of them, and each is acknowledged once it has committed.
The batches its clients send next join the open transaction while its rows are written (waiting
`LINGER_S` at most for the next one while fewer have come than the last commit acknowledged), so
that clients waiting for their acks share the next transaction rather than split it, and the
database is not idle while they are parsed.

Recording clients send small batches, many at a time (one per HTTP request, several in flight per
WebSocket); one transaction each would spend most of the server's time opening sessions and
committing. Here a single drain task takes every batch that is waiting (up to `GROUP_EVENTS`
events), stores them in order in one transaction, commits, and only then resolves each waiter:
an acknowledged event is committed, as before. All or none still holds per batch: when any batch
of a group is refused (or the database fails), the group is rolled back and its batches are stored
again one transaction each, in order, so that only the refused one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.kit.activity import WriteActivity
from chasm.kit.events import EventBus
from chasm.kit.gcpause import gc_pause
from chasm.kit.timeutil import utcnow
from chasm.realtime import topics, tracking
from chasm.recording import events as rules
from chasm.recording import store
from chasm.recording.schemas import Ack, RecordingEventIn

GROUP_EVENTS = 10_000  # events written in one transaction at most (a batch alone may be its own group)
# How long an open transaction waits for the next batch it expects before it commits without it.
# Clients that wait for their acks send their next batches together, as soon as a commit
# acknowledges them; one of them arriving first started a transaction of its own, the others
# waited for it, and the groups alternated between one batch and the rest. Every commit writes
# a segment of the full-text index, so fewer, larger transactions cost the database less per event.
LINGER_S = 0.01
# A batch that arrives longer than this after the last commit does not wait: its clients went quiet.
QUIET_S = 0.1


@dataclass
class _Batch:
    account_id: uuid.UUID
    events: Sequence[RecordingEventIn]
    shaped: list[rules.Shaped]
    done: asyncio.Future[list[Ack]]


def announce(bus: EventBus | None, account_id: uuid.UUID, opened: dict[str, store.Opened]) -> None:
    """Library events for the chats a commit touched (created, messages appended, updated)."""
    for o in opened.values():
        payload = topics.library_event(
            account_id, chat_id=o.chat.id, workspace_id=o.chat.workspace_id, source="recording"
        )
        if o.created:
            topics.publish_soon(bus, topics.CHAT_CREATED, payload)
        if o.messages:
            topics.publish_soon(bus, topics.MESSAGES_APPENDED, {**payload, "count": o.messages})
        elif not o.created:
            topics.publish_soon(bus, topics.CHAT_UPDATED, payload)


class RecordingRuntime:
    """Per-process state: the write lock (the drain task and snapshots hold it while they write),
    the batches waiting to be stored, and when this process started (for recovery). `activity`
    (the process's, `kit.activity`) is marked with each batch taken and each drain, so that the
    semantic indexer waits for a recording burst to pause."""

    def __init__(self, activity: WriteActivity | None = None) -> None:
        self.lock = asyncio.Lock()
        self.started_at = utcnow()
        self.activity = activity or WriteActivity()
        self._waiting: list[_Batch] = []
        self._drain: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        # Batches expected in the next group: those the last commit acknowledged (their clients
        # send more) and those that were waiting then.
        self._expect = 0
        self._settled_at = 0.0  # the loop's time when the last group was acknowledged

    async def record(
        self,
        maker: async_sessionmaker[AsyncSession],
        bus: EventBus | None,
        account_id: uuid.UUID,
        events: Sequence[RecordingEventIn],
    ) -> list[Ack]:
        """Store the events (with whatever else is waiting); their acks once committed. The events
        are shaped (`events.shape`) before they wait: while the writer's transaction is with the
        database."""
        done: asyncio.Future[list[Ack]] = asyncio.get_running_loop().create_future()
        shaped = [rules.shape(event) for event in events]
        self._waiting.append(_Batch(account_id, events, shaped, done))
        self._arrived.set()
        self.activity.touch()
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run(maker, bus), name="chasm-recording-writer")
        return await done

    async def aclose(self) -> None:
        """Let the batches already taken finish (the server is stopping)."""
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await self._drain

    def _take(self, count: int = 0) -> list[_Batch]:
        """The batches waiting, as many as fit a group beside `count` events (at least one when
        `count` is 0)."""
        group: list[_Batch] = []
        while self._waiting and (
            (not group and not count) or count + len(self._waiting[0].events) <= GROUP_EVENTS
        ):
            batch = self._waiting.pop(0)
            if batch.done.done():  # its caller is gone (a closed connection): never acknowledged
                continue
            group.append(batch)
            count += len(batch.events)
        return group

    async def _run(self, maker: async_sessionmaker[AsyncSession], bus: EventBus | None) -> None:
        with self.activity.busy():
            await self._drain_waiting(maker, bus)

    async def _more(self, group: list[_Batch]) -> list[_Batch]:
        """Batches to store in the open transaction after `group`'s (added to it): those waiting,
        while it holds fewer batches than expected, waiting LINGER_S at most for the next one to
        come; none once it holds as many, or a group's worth of events."""
        count = sum(len(b.events) for b in group)
        if len(group) >= self._expect or count >= GROUP_EVENTS:
            return []
        if not self._waiting:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), LINGER_S)
            except TimeoutError:
                self._expect = len(group)  # fewer came: expect no more than that
                return []
        more = self._take(count)
        group.extend(more)
        return more

    async def _drain_waiting(self, maker: async_sessionmaker[AsyncSession], bus: EventBus | None) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            if loop.time() - self._settled_at > QUIET_S:
                self._expect = 0  # its clients went quiet: a batch that comes now is written at once
            group = self._take()
            if not group:
                continue
            # The group's events, rows and statements make no reference cycles: the collector
            # waits until they are gone (`gc_pause`) rather than walk them again and again.
            with gc_pause():
                written = await self._write_group(maker, group)
            self._expect = len(group) + len(self._waiting)
            self._settled_at = loop.time()
            for results, touched in written:
                for account_id, opened in touched:
                    announce(bus, account_id, opened)
                for batch, acks in results:
                    _settle(batch, acks=acks)

    async def _write_group(
        self, maker: async_sessionmaker[AsyncSession], group: list[_Batch]
    ) -> list[_Written]:
        """The group in one transaction; when that fails, its batches one transaction each, in
        order, so that only the refused one fails (settled here with its error)."""
        async with self.lock:
            try:
                return [await _write(maker, group, self._more)]
            except Exception as error:
                if len(group) == 1:
                    _settle(group[0], error=error)
                    return []
            written = []
            for batch in group:
                try:
                    written.append(await _write(maker, [batch]))
                except Exception as alone:
                    _settle(batch, error=alone)
            return written


_Written = tuple[list[tuple[_Batch, list[Ack]]], list[tuple[uuid.UUID, dict[str, store.Opened]]]]


async def _write(
    maker: async_sessionmaker[AsyncSession],
    group: list[_Batch],
    more: Callable[[list[_Batch]], Awaitable[list[_Batch]]] | None = None,
) -> _Written:
    """The group's events in one transaction, committed: each batch's acks, the sessions touched.
    `more`: the batches that join the group (and the transaction) once its own are stored, asked
    until it has none: they are parsed and shaped while the group's rows are written, rather
    than the database waiting for the last of them."""
    results: list[tuple[_Batch, list[Ack]]] = []
    touched: list[tuple[uuid.UUID, dict[str, store.Opened]]] = []
    async with maker() as db, db.begin():
        db.info[tracking.QUIET] = True  # announced once committed, as recording
        batches = list(group)
        while batches:
            accounts: dict[uuid.UUID, list[_Batch]] = {}
            for batch in batches:
                accounts.setdefault(batch.account_id, []).append(batch)
            for account_id, mine in accounts.items():
                events = [e for b in mine for e in b.events]
                acks, opened = await store.append(db, account_id, events, [s for b in mine for s in b.shaped])
                touched.append((account_id, opened))
                at = 0
                for b in mine:  # one ack per event, in order
                    results.append((b, acks[at : at + len(b.events)]))
                    at += len(b.events)
            batches = await more(group) if more is not None else []
    return results, touched


def _settle(batch: _Batch, acks: list[Ack] | None = None, error: BaseException | None = None) -> None:
    if batch.done.done():
        return
    if error is not None:
        batch.done.set_exception(error)
    else:
        batch.done.set_result(acks or [])

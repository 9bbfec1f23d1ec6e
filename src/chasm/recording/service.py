"""Recording: events stored durably, in order, once per id, as messages of a chat.

An acknowledgement is sent only after the transaction holding the event has committed, so an
acknowledged event survives a crash (`kill -9`) of the server. A request's (or a WebSocket
message's) events are stored in one transaction, all or none: a batch with one bad event stores
nothing and says which event was refused. Batches waiting together share one transaction
(`writer`: group commit). Writes are serialised per server process (one lock) and per session
across processes (the session row is locked where the database can).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor
from chasm.kit.events import EventBus
from chasm.kit.timeutil import iso, utcnow
from chasm.models import RecordingSession
from chasm.realtime import tracking
from chasm.recording import events as rules
from chasm.recording import repository as repo
from chasm.recording import store
from chasm.recording.exceptions import SessionEnded, SessionNotFound
from chasm.recording.schemas import (
    Ack,
    RecordedEvent,
    RecordingEventIn,
    RecordingSessionDetail,
    RecordingSessionRead,
    RecordingStatus,
    RecoveredSession,
    RecoveryResult,
    SnapshotIn,
    SnapshotResult,
)
from chasm.recording.writer import RecordingRuntime, announce

__all__ = ["RecordingRuntime"]


async def record(
    maker: async_sessionmaker[AsyncSession],
    runtime: RecordingRuntime,
    bus: EventBus | None,
    actor: Actor,
    events: Sequence[RecordingEventIn],
) -> list[Ack]:
    """Store the events in one transaction (shared with other batches waiting: `writer`); their
    acks once it has committed."""
    return await runtime.record(maker, bus, actor.account_id, events)


async def snapshot(
    maker: async_sessionmaker[AsyncSession],
    runtime: RecordingRuntime,
    bus: EventBus | None,
    actor: Actor,
    body: SnapshotIn,
) -> SnapshotResult:
    """A whole session: what is not stored yet is appended (as message events), the rest matched."""
    async with runtime.lock, maker() as db, db.begin():
        db.info[tracking.QUIET] = True  # announced below, as recording
        row = await repo.session_by_client_id(db, actor.account_id, body.session_id)
        events: list[RecordingEventIn] = []
        if row is None:
            start = {"client": body.client, "title": body.title, "model": body.model}
            events.append(
                RecordingEventIn(
                    session_id=body.session_id,
                    event_type="session_start",
                    data={k: v for k, v in start.items() if v is not None},
                )
            )
            stored: list[tuple[str, str, str | None]] = []
        else:
            if row.state == "ended":
                raise SessionEnded(f"Recording session {body.session_id} has ended")
            stored = await repo.stored_messages(db, row.chat_id)
            if body.title is not None:
                events.append(
                    RecordingEventIn(
                        session_id=body.session_id, event_type="title", data={"title": body.title}
                    )
                )
        missing = rules.reconcile(stored, body.messages)
        for i in missing:
            m = body.messages[i]
            data = m.model_dump(exclude_none=True, exclude={"id"})
            events.append(
                RecordingEventIn(session_id=body.session_id, event_type="message", data=data, event_id=m.id)
            )
        if body.ended:
            events.append(RecordingEventIn(session_id=body.session_id, event_type="session_end"))
        opened = (await store.append(db, actor.account_id, events))[1] if events else {}
        if row is None:
            row = opened[body.session_id].row
        result_out = SnapshotResult(
            session_id=body.session_id,
            chat_id=row.chat_id,
            matched=len(body.messages) - len(missing),
            stored=len(missing),
            last_seq=row.last_seq,
        )
    announce(bus, actor.account_id, opened)
    return result_out


# Reads


def session_out(row: RecordingSession) -> RecordingSessionRead:
    return RecordingSessionRead(
        session_id=row.session_id,
        chat_id=row.chat_id,
        client=row.client,
        state=row.state,  # type: ignore[arg-type]
        event_count=row.last_seq,
        last_seq=row.last_seq,
        created_at=iso(row.created_at) or "",
        updated_at=iso(row.updated_at) or "",
        ended_at=iso(row.ended_at),
        recovered_at=iso(row.recovered_at),
    )


async def list_sessions(
    db: AsyncSession, actor: Actor, state: str, limit: int, offset: int
) -> tuple[list[RecordingSessionRead], int]:
    rows, total = await repo.sessions_page(db, actor.account_id, state, limit, offset)
    return [session_out(r) for r in rows], total


async def _session(db: AsyncSession, actor: Actor, session_id: str) -> RecordingSession:
    row = await repo.session_by_client_id(db, actor.account_id, session_id)
    if row is None:
        raise SessionNotFound(f"Recording session {session_id} not found")
    return row


async def get_session(
    db: AsyncSession, actor: Actor, session_id: str, after_seq: int, limit: int
) -> RecordingSessionDetail:
    row = await _session(db, actor, session_id)
    events = [
        RecordedEvent(
            seq=e.seq,
            event_id=e.event_id,
            event_type=e.event_type,
            data=e.data,
            message_id=e.message_id,
            received_at=iso(e.received_at) or "",
        )
        for e in await repo.events_after(db, row.id, after_seq, limit)
    ]
    return RecordingSessionDetail(**session_out(row).model_dump(), events=events)


async def recover(db: AsyncSession, runtime: RecordingRuntime, actor: Actor) -> RecoveryResult:
    """The sessions left active by an earlier server process (a crash, a restart): reopened for
    their clients, each with its last stored event so the client resends only what follows."""
    now = utcnow()
    out = []
    for row in await repo.active_before(db, actor.account_id, runtime.started_at):
        if row.recovered_at is None or row.recovered_at < runtime.started_at:
            row.recovered_at = now
        last = await repo.event_id_at(db, row.id, row.last_seq)
        out.append(RecoveredSession(**session_out(row).model_dump(), last_event_id=last))
    return RecoveryResult(recovered=out)


async def status(db: AsyncSession, actor: Actor) -> RecordingStatus:
    total, active, events = await repo.counts(db, actor.account_id)
    return RecordingStatus(active_sessions=active, sessions=total, events=events)

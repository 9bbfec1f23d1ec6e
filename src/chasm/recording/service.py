"""Recording: events stored durably, in order, once per id, as messages of a chat.

An acknowledgement is sent only after the transaction holding the event has committed, so an
acknowledged event survives a crash (`kill -9`) of the server. A request's (or a WebSocket
message's) events are stored in one transaction, all or none: a batch with one bad event stores
nothing and says which event was refused. Writes are serialised per server process (one lock) and
per session across processes (the session row is locked where the database can).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor
from chasm.harvest.rows import clean, content_hash
from chasm.harvest.tool_text import tool_text
from chasm.kit.errors import BadRequest, ChasmError, Conflict
from chasm.kit.events import EventBus
from chasm.kit.timeutil import iso, utcnow
from chasm.models import Chat, ChatMessage, RecordingEvent, RecordingSession
from chasm.realtime import topics, tracking
from chasm.recording import events as rules
from chasm.recording import repository as repo
from chasm.recording.exceptions import SessionEnded, SessionNotFound
from chasm.recording.schemas import (
    EventAck,
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

events_t = cast(Table, RecordingEvent.__table__)
messages_t = cast(Table, ChatMessage.__table__)


class RecordingRuntime:
    """Per-process state: the write lock and when this process started (for recovery)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.started_at = utcnow()


@dataclass
class _Open:
    """A session touched by a batch: its row, its chat, and what the batch adds."""

    row: RecordingSession
    chat: Chat
    created: bool = False
    next_message_seq: int = 0
    known: dict[str, int] = field(default_factory=dict)  # event id -> seq, stored or in this batch
    messages: int = 0
    last_seq: int = -1  # the batch's last seq (applied to the row once, at the end)
    totals: dict[str, int] = field(default_factory=dict)  # usage and tool calls the batch adds
    model: str | None = None

    def seq(self) -> int:
        return self.row.last_seq if self.last_seq < 0 else self.last_seq

    def apply(self, now: datetime) -> None:
        """The batch's counts onto the session and chat rows (one ORM change each, not per event)."""
        if self.last_seq >= 0:
            self.row.last_seq, self.row.updated_at = self.last_seq, now
            self.chat.updated_at = now
        chat = self.chat
        if self.messages:
            chat.message_count += self.messages
            for key, value in self.totals.items():
                setattr(chat, key, getattr(chat, key) + value)
            chat.model = self.model or chat.model


async def _open_sessions(
    db: AsyncSession, actor: Actor, events: Sequence[RecordingEventIn]
) -> dict[str, _Open]:
    ids = sorted({e.session_id for e in events})
    query = select(RecordingSession).where(
        RecordingSession.account_id == actor.account_id, RecordingSession.session_id.in_(ids)
    )
    rows = (await db.scalars(query.with_for_update())).all()
    opened: dict[str, _Open] = {}
    for row in rows:
        chat = await db.get(Chat, row.chat_id)
        assert chat is not None  # the chat's deletion deletes the session (cascade)
        opened[row.session_id] = _Open(row, chat)
    wanted: dict[uuid.UUID, list[str]] = {}
    for e in events:
        if e.event_id and e.session_id in opened:
            wanted.setdefault(opened[e.session_id].row.id, []).append(e.event_id)
    by_id = {o.row.id: o for o in opened.values()}
    for recording_id, event_ids in wanted.items():
        found = await db.execute(
            select(events_t.c.event_id, events_t.c.seq).where(
                events_t.c.recording_id == recording_id, events_t.c.event_id.in_(event_ids)
            )
        )
        by_id[recording_id].known.update({eid: seq for eid, seq in found})
    return opened


async def _start(db: AsyncSession, actor: Actor, event: RecordingEventIn, now: datetime) -> _Open:
    data = event.data
    client = data.get("client") or data.get("provider") or rules.DEFAULT_CLIENT
    if not isinstance(client, str) or len(client) > 60:
        raise BadRequest(
            "session_start's client must be a name of at most 60 characters", code="invalid_event"
        )
    taken = await db.scalar(
        select(Chat.id).where(
            Chat.account_id == actor.account_id, Chat.provider == client, Chat.source_id == event.session_id
        )
    )
    if taken is not None:
        raise Conflict(f"A chat of {client} with id {event.session_id} exists already", code="session_exists")
    title = data.get("title")
    model = data.get("model")
    chat = Chat(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        provider=client,
        source_id=event.session_id,
        title=title[:1000] if isinstance(title, str) else None,
        model=model[:200] if isinstance(model, str) else None,
        tags=[],
        archived=False,
        message_count=0,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        tool_call_count=0,
        started_at=now,
        updated_at=now,
        meta={"recording": True},
    )
    db.add(chat)
    row = RecordingSession(
        id=uuid.uuid4(),
        account_id=actor.account_id,
        session_id=event.session_id,
        client=client,
        chat_id=chat.id,
        state="active",
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    return _Open(row, chat, created=True)


async def _store(
    db: AsyncSession, actor: Actor, events: Sequence[RecordingEventIn]
) -> tuple[list[EventAck], dict[str, _Open]]:
    now = utcnow()
    opened = await _open_sessions(db, actor, events)
    acks: list[EventAck] = []
    event_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    seq_loaded: set[str] = set()
    for index, event in enumerate(events):
        try:
            rules.check_event(event)
            current = opened.get(event.session_id)
            if current is not None and event.event_id is not None and event.event_id in current.known:
                seq = current.known[event.event_id]
                acks.append(
                    EventAck(event_id=event.event_id, session_id=event.session_id, seq=seq, duplicate=True)
                )
                continue
            if event.event_type == "session_start":
                if current is not None:
                    raise Conflict(f"Session {event.session_id} was started already", code="session_exists")
                current = opened[event.session_id] = await _start(db, actor, event, now)
                seq_loaded.add(event.session_id)
            elif current is None:
                raise SessionNotFound(
                    f"Recording session {event.session_id} not found: start it with a session_start event"
                )
            elif current.row.state == "ended":
                raise SessionEnded(f"Recording session {event.session_id} has ended")
            row, chat = current.row, current.chat
            seq = current.seq() + 1
            if event.seq is not None and event.seq != seq:
                raise Conflict(
                    f"Event seq {event.seq} is out of order: session {event.session_id} expects {seq}",
                    code="out_of_order",
                )
            event_id = event.event_id or str(uuid.uuid4())
            data = clean(event.data)
            fields = rules.message_fields(event.event_type, data)
            message_id = None
            if fields is not None:
                rules.title_and_wrappers(chat, fields)
                if event.session_id not in seq_loaded:
                    last = await db.scalar(
                        select(func.max(ChatMessage.seq)).where(ChatMessage.chat_id == chat.id)
                    )
                    current.next_message_seq = 0 if last is None else int(last) + 1
                    seq_loaded.add(event.session_id)
                message_id = uuid.uuid4()
                message_rows.append(
                    {
                        "id": message_id,
                        "chat_id": chat.id,
                        "seq": current.next_message_seq,
                        "source_id": event_id,
                        "parent_source_id": None,
                        "content_hash": content_hash(fields["role"], fields["content"], None),
                        "created_at": now,
                        **fields,
                        "content": fields["content"].replace("\x00", ""),
                        "tool_text": tool_text(fields.get("tool_calls") or ()),
                    }
                )
                current.next_message_seq += 1
                current.messages += 1
                totals = current.totals
                for key in rules.USAGE_KEYS:
                    totals[key] = totals.get(key, 0) + fields[key]
                totals["tool_call_count"] = totals.get("tool_call_count", 0) + len(fields["tool_calls"] or ())
                current.model = fields["model"] or current.model
            elif event.event_type == "title":
                title = data.get("title")
                if not isinstance(title, str):
                    raise BadRequest("A title event needs a title", code="invalid_event")
                if not chat.title_edited:
                    chat.title = title[:1000]
            elif event.event_type == "session_end":
                row.state, row.ended_at = "ended", now
            current.last_seq = seq
            current.known[event_id] = seq
            event_rows.append(
                {
                    "id": uuid.uuid4(),
                    "recording_id": row.id,
                    "seq": seq,
                    "event_id": event_id,
                    "event_type": event.event_type,
                    "data": data,
                    "message_id": message_id,
                    "received_at": now,
                }
            )
            acks.append(EventAck(event_id=event_id, session_id=event.session_id, seq=seq))
        except ChasmError as error:
            raise rules.refuse(index, event, error) from None
    for current in opened.values():
        current.apply(now)
    if message_rows:
        await db.execute(insert(messages_t), message_rows)
    if event_rows:
        await db.execute(insert(events_t), event_rows)
    return acks, opened


def _announce(bus: EventBus | None, actor: Actor, opened: dict[str, _Open], source: str) -> None:
    for o in opened.values():

        def payload(o: _Open = o, **extra: Any) -> dict[str, Any]:
            return topics.library_event(
                actor.account_id, chat_id=o.chat.id, workspace_id=o.chat.workspace_id, source=source, **extra
            )

        if o.created:
            topics.publish_soon(bus, topics.CHAT_CREATED, payload())
        if o.messages:
            topics.publish_soon(bus, topics.MESSAGES_APPENDED, payload(count=o.messages))
        elif not o.created:
            topics.publish_soon(bus, topics.CHAT_UPDATED, payload())


async def record(
    maker: async_sessionmaker[AsyncSession],
    runtime: RecordingRuntime,
    bus: EventBus | None,
    actor: Actor,
    events: Sequence[RecordingEventIn],
) -> list[EventAck]:
    """Store the events in one transaction; their acks once it has committed."""
    async with runtime.lock, maker() as db, db.begin():
        db.info[tracking.QUIET] = True  # announced below, as recording
        acks, opened = await _store(db, actor, events)
    _announce(bus, actor, opened, "recording")
    return acks


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
        row = await db.scalar(
            select(RecordingSession).where(
                RecordingSession.account_id == actor.account_id,
                RecordingSession.session_id == body.session_id,
            )
        )
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
            result = await db.execute(
                select(ChatMessage.role, ChatMessage.content, ChatMessage.source_id)
                .where(ChatMessage.chat_id == row.chat_id)
                .order_by(ChatMessage.seq)
            )
            stored = [(r, c, s) for r, c, s in result]
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
        acks, opened = await _store(db, actor, events) if events else ([], {})
        if row is None:
            row = opened[body.session_id].row
        result_out = SnapshotResult(
            session_id=body.session_id,
            chat_id=row.chat_id,
            matched=len(body.messages) - len(missing),
            stored=len(missing),
            last_seq=row.last_seq,
        )
    _announce(bus, actor, opened, "recording")
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

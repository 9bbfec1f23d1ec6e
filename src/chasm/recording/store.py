"""The recording append path: events stored in the open transaction, in order, once per id, as
messages of the session's chat (its full-text index follows in the same transaction: a message is
searchable once its event is acknowledged). `writer` runs it for batches of requests together."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, TypeDecorator, bindparam, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.chats.repository import new_chat
from chasm.kit import sqlite_driver
from chasm.kit.db import JSONType
from chasm.kit.errors import BadRequest, ChasmError, Conflict
from chasm.kit.timeutil import utcnow
from chasm.models import Chat, ChatMessage, RecordingEvent, RecordingSession
from chasm.recording import events as rules
from chasm.recording.exceptions import SessionEnded, SessionNotFound
from chasm.recording.schemas import Ack, RecordingEventIn


class SerializedJSON(TypeDecorator[str]):
    """A JSON column's value serialized already (`events.checked_data` measures the event by its
    JSON, which is then stored as it is rather than serialized a second time)."""

    impl = JSONType
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


events_t = cast(Table, RecordingEvent.__table__)
messages_t = cast(Table, ChatMessage.__table__)


@dataclass
class Opened:
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
    titled: bool = False  # the chat has a title (read once a message could give it one)

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
    db: AsyncSession, account_id: uuid.UUID, events: Sequence[RecordingEventIn]
) -> dict[str, Opened]:
    ids = sorted({e.session_id for e in events})
    query = select(RecordingSession).where(
        RecordingSession.account_id == account_id, RecordingSession.session_id.in_(ids)
    )
    rows = (await db.scalars(query.with_for_update())).all()
    opened: dict[str, Opened] = {}
    for row in rows:
        chat = await db.get(Chat, row.chat_id)
        assert chat is not None  # the chat's deletion deletes the session (cascade)
        opened[row.session_id] = Opened(row, chat)
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


async def _start(db: AsyncSession, account_id: uuid.UUID, event: RecordingEventIn, now: datetime) -> Opened:
    data = event.data
    client = data.get("client") or data.get("provider") or rules.DEFAULT_CLIENT
    if not isinstance(client, str) or len(client) > 60:
        raise BadRequest(
            "session_start's client must be a name of at most 60 characters", code="invalid_event"
        )
    taken = await db.scalar(
        select(Chat.id).where(
            Chat.account_id == account_id, Chat.provider == client, Chat.source_id == event.session_id
        )
    )
    if taken is not None:
        raise Conflict(f"A chat of {client} with id {event.session_id} exists already", code="session_exists")
    title = data.get("title")
    model = data.get("model")
    chat = new_chat(
        account_id=account_id,
        provider=client,
        source_id=event.session_id,
        title=title[:1000] if isinstance(title, str) else None,
        model=model[:200] if isinstance(model, str) else None,
        started_at=now,
        updated_at=now,
        meta={"recording": True},
    )
    db.add(chat)
    row = RecordingSession(
        id=uuid.uuid4(),
        account_id=account_id,
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
    return Opened(row, chat, created=True)


async def append(
    db: AsyncSession,
    account_id: uuid.UUID,
    events: Sequence[RecordingEventIn],
    shaped: Sequence[rules.Shaped] | None = None,
) -> tuple[list[Ack], dict[str, Opened]]:
    """Store the events (in the open transaction): their acks (`EventAck`'s fields, as a dict: one
    model per event cost more than the rest of its ack's way), and the sessions they touched.
    `shaped`: the events' `rules.shape`, where the caller worked it out already. Raises (nothing
    written by this call then counts: the caller rolls back) on the first refused event, naming
    it."""
    now = utcnow()
    if shaped is None:
        shaped = [rules.shape(event) for event in events]
    opened = await _open_sessions(db, account_id, events)
    acks: list[Ack] = []
    rows = _Rows(db)
    ids = rows.new_ids(2 * len(events))
    seq_loaded: set[str] = set()
    for index, event in enumerate(events):
        try:
            shape = shaped[index]
            if shape.data_error is not None:
                raise shape.data_error
            data = shape.data
            current = opened.get(event.session_id)
            if current is not None and event.event_id is not None and event.event_id in current.known:
                seq = current.known[event.event_id]
                acks.append(
                    {
                        "event_id": event.event_id,
                        "session_id": event.session_id,
                        "seq": seq,
                        "duplicate": True,
                    }
                )
                continue
            if event.event_type == "session_start":
                if current is not None:
                    raise Conflict(f"Session {event.session_id} was started already", code="session_exists")
                current = opened[event.session_id] = await _start(db, account_id, event, now)
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
            if shape.message_error is not None:
                raise shape.message_error
            fields = shape.columns
            message_id = None
            if fields is not None:
                if not current.titled:  # the chat's title read once, not per message (ORM attributes)
                    rules.take_title(chat, fields)
                    current.titled = bool(chat.title) or chat.title_edited
                if event.session_id not in seq_loaded:
                    last = await db.scalar(
                        select(func.max(ChatMessage.seq)).where(ChatMessage.chat_id == chat.id)
                    )
                    current.next_message_seq = 0 if last is None else int(last) + 1
                    seq_loaded.add(event.session_id)
                message_id = next(ids)
                rows.messages.append(
                    {
                        "id": message_id,
                        "chat_id": chat.id,
                        "seq": current.next_message_seq,
                        "source_id": event_id,
                        "parent_source_id": None,
                        "created_at": now,
                        **fields,
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
                    current.titled = bool(chat.title)
            elif event.event_type == "session_end":
                row.state, row.ended_at = "ended", now
            current.last_seq = seq
            current.known[event_id] = seq
            rows.events.append(
                {
                    "id": next(ids),
                    "recording_id": row.id,
                    "seq": seq,
                    "event_id": event_id,
                    "event_type": event.event_type,
                    "data_json": shape.data_json,
                    "message_id": message_id,
                    "received_at": now,
                }
            )
            acks.append(
                {"event_id": event_id, "session_id": event.session_id, "seq": seq, "duplicate": False}
            )
        except ChasmError as error:
            await rows.abandon()
            raise rules.refuse(index, event, error) from None
        except Exception:  # the database failed (a query of the session's): the pages sent end first
            await rows.abandon()
            raise
        if len(rows.events) >= CHUNK_EVENTS:
            await rows.send()
    for current in opened.values():
        current.apply(now)
    await rows.send()
    await rows.settle()
    return acks, opened


CHUNK_EVENTS = 250  # events whose rows are sent together (while the next are built, on SQLite)


class _Rows:
    """The append's rows, sent a chunk at a time. On SQLite each chunk's INSERT pages go to the
    database's thread without waiting (`kit.sqlite_driver.send`): SQLite writes one chunk while
    the event loop builds the next. Every page has run once `settle` returns (it raises the first
    failure, as SQLAlchemy would have)."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._sent: list[tuple[str, asyncio.Future[Any]]] = []
        dialect = db.get_bind().dialect
        self._direct = dialect.name == "sqlite" and dialect.paramstyle == "qmark"

    def new_ids(self, count: int) -> Iterator[Any]:
        """`count` new row ids (`ordered_ids`) as the rows take them: on SQLite, the 32 hex digits
        its UUID columns store (what their bind processor makes of a UUID), without a UUID object
        each; elsewhere UUIDs."""
        ids = ordered_ids(count)
        return iter(ids) if self._direct else (uuid.UUID(h) for h in ids)

    async def send(self) -> None:
        if self.messages:
            await self._insert(messages_t, insert(messages_t), self.messages)
        if self.events:
            await self._insert(events_t, _INSERT_EVENTS, self.events, serialized={"data_json": "data"})
        self.messages, self.events = [], []

    async def abandon(self) -> None:
        """Wait for the pages sent, whatever their outcome: the caller rolls the transaction back."""
        sent, self._sent = self._sent, []
        await asyncio.gather(*(future for _, future in sent), return_exceptions=True)

    async def settle(self) -> None:
        """Wait for every page sent; the first failure raised as SQLAlchemy's error."""
        sent, self._sent = self._sent, []
        outcomes = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        for (statement, _), outcome in zip(sent, outcomes, strict=True):
            if isinstance(outcome, sqlite3.Error):
                raise DBAPIError.instance(statement, None, outcome, sqlite3.Error) from outcome
            if isinstance(outcome, BaseException):
                raise outcome

    async def _insert(
        self,
        table: Table,
        statement: Any,
        rows: list[dict[str, Any]],
        serialized: dict[str, str] | None = None,
    ) -> None:
        """Insert rows that name every column (`serialized`: keys holding a JSON column's text
        already, and the column's name; `_BOUND`: ids from `new_ids`, bound already). On SQLite,
        as multi-row `INSERT ... VALUES (...), (...)` pages built here, each value converted by
        its column type's own bind processor (the one SQLAlchemy would apply), a value shared by
        the rows (the batch's time, its chat) converted once: SQLAlchemy's per-row parameter
        handling cost more than SQLite's work on the path of every recorded event. Elsewhere,
        SQLAlchemy's executemany."""
        conn = await self.db.connection()
        dialect = conn.dialect
        if not self._direct:
            await self.db.execute(statement, rows)
            return
        serialized = serialized or {}
        keys = list(rows[0])
        names = [serialized.get(k, k) for k in keys]
        assert set(names) == {c.key for c in table.columns}, "every column is given"
        columns = []
        for key in keys:  # column by column: one comprehension each rather than a branch per value
            values = [row[key] for row in rows]
            process = None
            if key not in serialized and key not in _BOUND:
                process = table.c[key].type._cached_bind_processor(dialect)  # noqa: SLF001
            if process is not None:
                first = values[0]
                if all(v is first for v in values):  # the batch's time, its only chat: converted once
                    values = [process(first)] * len(values)
                else:
                    values = [process(v) for v in values]
            columns.append(values)
        quote = dialect.identifier_preparer.quote
        head = (
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(n) for n in names)}) VALUES "
        )
        one = "(" + ", ".join("?" * len(keys)) + ")"
        per_page = max(
            1, min(dialect.insertmanyvalues_page_size, dialect.insertmanyvalues_max_parameters // len(keys))
        )
        raw = (await conn.get_raw_connection()).dbapi_connection
        tuples = list(zip(*columns, strict=True))
        for start in range(0, len(tuples), per_page):
            page = tuples[start : start + per_page]
            sql = head + ", ".join([one] * len(page))
            flat = tuple(value for row in page for value in row)
            self._sent.append((sql, sqlite_driver.send(raw, sql, flat)))


_INSERT_EVENTS = insert(events_t).values(data=bindparam("data_json", type_=SerializedJSON()))


_BOUND = frozenset(("id", "message_id"))  # the columns `new_ids` fills, with the value SQLite stores
_VARIANT = 2 << 62  # RFC 9562's variant bits, atop the last 64 bits


def ordered_ids(count: int) -> list[str]:
    """`count` new version 7 UUIDs (RFC 9562: the time in ms, then random bits), in increasing
    order, as `UUID.hex` writes them: a counter from a random start fills the last 62 bits. The
    rows' primary key indexes take them at their end, a few pages per batch, where random
    (version 4) ids landed all over the index: a page written back per row once the index
    outgrew the cache, and most of each commit's WAL."""
    if count <= 0:
        return []
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    head = f"{millis & 0xFFFF_FFFF_FFFF:012x}7{rand >> 68:03x}"  # 48 bits of time, version, 12 random
    start = rand & ((1 << 61) - 1)  # room to count up within 62 bits
    return [f"{head}{_VARIANT | n:016x}" for n in range(start, start + count)]

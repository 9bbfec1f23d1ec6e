"""Recording API payloads (spec 003, /api/recording and /ws/recording)."""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

# The event types the library understands; any other type is stored as it came (metadata).
KNOWN_TYPES = ("session_start", "session_end", "message", "tool_call", "tool_result", "title")
MAX_EVENT_BYTES = 1024 * 1024  # one event's JSON
MAX_BATCH_EVENTS = 5000


class RecordingEventIn(BaseModel):
    """One event. `event_id` makes a retry idempotent (stored once); `seq`, when sent, must be the
    session's next (1, 2, ...): an event out of order is refused."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=300)
    event_type: str = Field(min_length=1, max_length=60, examples=["message"])
    data: dict[str, Any] = Field(default_factory=dict)
    event_id: str | None = Field(default=None, min_length=1, max_length=200)
    seq: int | None = Field(default=None, ge=1)


class RecordingBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[RecordingEventIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class EventAck(BaseModel):
    """An event stored durably (committed): its id and seq in the session."""

    event_id: str
    session_id: str
    seq: int
    duplicate: bool = Field(default=False, description="Already stored by an earlier delivery")


class Ack(TypedDict):
    """An `EventAck` as the append path makes it (a dict: cheaper than a model for each event)."""

    event_id: str
    session_id: str
    seq: int
    duplicate: bool


class RecordingAck(BaseModel):
    acked: int
    acks: list[EventAck]


class SnapshotMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, max_length=200, description="The event id it was sent with, if any")
    role: Literal["user", "assistant", "system", "tool"]
    content: str = ""
    model: str | None = None
    usage: dict[str, int] | None = None
    tool_calls: list[dict[str, Any]] | None = None


class SnapshotIn(BaseModel):
    """A whole session as the client holds it; reconciled with the events already stored."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=300)
    client: str | None = Field(default=None, max_length=60)
    title: str | None = Field(default=None, max_length=1000)
    model: str | None = Field(default=None, max_length=200)
    messages: list[SnapshotMessage] = Field(default_factory=list, max_length=MAX_BATCH_EVENTS)
    ended: bool = False


class SnapshotResult(BaseModel):
    session_id: str
    chat_id: uuid.UUID
    matched: int = Field(description="Snapshot messages already stored")
    stored: int = Field(description="Snapshot messages stored now")
    last_seq: int


class RecordingSessionRead(BaseModel):
    session_id: str
    chat_id: uuid.UUID
    client: str
    state: Literal["active", "ended"]
    event_count: int
    last_seq: int
    created_at: str
    updated_at: str
    ended_at: str | None = None
    recovered_at: str | None = None


class RecordedEvent(BaseModel):
    seq: int
    event_id: str
    event_type: str
    data: dict[str, Any]
    message_id: uuid.UUID | None = None
    received_at: str


class RecordingSessionDetail(RecordingSessionRead):
    events: list[RecordedEvent]


class RecoveredSession(RecordingSessionRead):
    last_event_id: str | None = None


class RecoveryResult(BaseModel):
    recovered: list[RecoveredSession]


class RecordingStatus(BaseModel):
    status: Literal["ok"] = "ok"
    active_sessions: int
    sessions: int
    events: int
    max_event_bytes: int = MAX_EVENT_BYTES
    max_batch_events: int = MAX_BATCH_EVENTS

"""Recording (spec 003): sessions a client streams event by event, each stored as a chat of the
library, and the events themselves (every one kept, in order, once per client id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow


class RecordingSession(IdMixin, TimestampMixin, Base):
    """A recorded session: the client's id for it, the chat it is stored as, and its state
    (`active` until a `session_end` event, then `ended`). `last_seq` is its last event's seq."""

    __tablename__ = "recording_sessions"
    __table_args__ = (UniqueConstraint("account_id", "session_id"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(String(300))
    client: Mapped[str] = mapped_column(String(60))
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="active", index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]


class RecordingEvent(IdMixin, Base):
    """One event as received: `seq` from 1 in the session, `event_id` the client's (or ours)."""

    __tablename__ = "recording_events"
    __table_args__ = (
        UniqueConstraint("recording_id", "seq", name="uq_recording_events_seq"),
        UniqueConstraint("recording_id", "event_id", name="uq_recording_events_event_id"),
    )

    recording_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recording_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[uuid.UUID | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

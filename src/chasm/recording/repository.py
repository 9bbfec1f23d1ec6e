"""Reads of recording sessions and their events (the append path is `store`'s)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import ChatMessage, RecordingEvent, RecordingSession


async def sessions_page(
    db: AsyncSession, account_id: uuid.UUID, state: str, limit: int, offset: int
) -> tuple[Sequence[RecordingSession], int]:
    where = [RecordingSession.account_id == account_id]
    if state != "all":
        where.append(RecordingSession.state == state)
    total = await db.scalar(select(func.count()).select_from(RecordingSession).where(*where)) or 0
    rows = await db.scalars(
        select(RecordingSession)
        .where(*where)
        .order_by(RecordingSession.updated_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), total


async def session_by_client_id(
    db: AsyncSession, account_id: uuid.UUID, session_id: str
) -> RecordingSession | None:
    return await db.scalar(
        select(RecordingSession).where(
            RecordingSession.account_id == account_id, RecordingSession.session_id == session_id
        )
    )


async def events_after(
    db: AsyncSession, recording_id: uuid.UUID, after_seq: int, limit: int
) -> Sequence[RecordingEvent]:
    rows = await db.scalars(
        select(RecordingEvent)
        .where(RecordingEvent.recording_id == recording_id, RecordingEvent.seq > after_seq)
        .order_by(RecordingEvent.seq)
        .limit(limit)
    )
    return rows.all()


async def active_before(
    db: AsyncSession, account_id: uuid.UUID, when: datetime
) -> Sequence[RecordingSession]:
    """Sessions still active that were last written before `when` (by an earlier process)."""
    rows = await db.scalars(
        select(RecordingSession)
        .where(
            RecordingSession.account_id == account_id,
            RecordingSession.state == "active",
            RecordingSession.updated_at < when,
        )
        .order_by(RecordingSession.updated_at)
    )
    return rows.all()


async def event_id_at(db: AsyncSession, recording_id: uuid.UUID, seq: int) -> str | None:
    return await db.scalar(
        select(RecordingEvent.event_id).where(
            RecordingEvent.recording_id == recording_id, RecordingEvent.seq == seq
        )
    )


async def counts(db: AsyncSession, account_id: uuid.UUID) -> tuple[int, int, int]:
    """(sessions, active sessions, events) of an account."""
    mine = RecordingSession.account_id == account_id
    total = await db.scalar(select(func.count()).select_from(RecordingSession).where(mine)) or 0
    active = (
        await db.scalar(
            select(func.count()).select_from(RecordingSession).where(mine, RecordingSession.state == "active")
        )
        or 0
    )
    events = await db.scalar(select(func.coalesce(func.sum(RecordingSession.last_seq), 0)).where(mine)) or 0
    return int(total), int(active), int(events)


async def stored_messages(db: AsyncSession, chat_id: uuid.UUID) -> list[tuple[str, str, str | None]]:
    """A chat's messages in order, as a snapshot reconciles them: role, content, source id."""
    result = await db.execute(
        select(ChatMessage.role, ChatMessage.content, ChatMessage.source_id)
        .where(ChatMessage.chat_id == chat_id)
        .order_by(ChatMessage.seq)
    )
    return [(role, content, source_id) for role, content, source_id in result]

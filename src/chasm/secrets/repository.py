"""SQL of the secrets scan: the account's messages and titles in id order, a batch at a time, and
the rewrite of what held a secret."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import AuditEvent, Chat, ChatMessage

REDACT_ACTION = "secrets.redact"

BATCH = 1000


async def message_batches(
    db: AsyncSession, account_id: uuid.UUID, chat_ids: set[uuid.UUID] | None
) -> AsyncIterator[list[Row[Any]]]:
    """The messages of the account's chats (of `chat_ids`, or every one when None), by id."""
    last: uuid.UUID | None = None
    while True:
        stmt = (
            select(
                ChatMessage.id,
                ChatMessage.chat_id,
                ChatMessage.seq,
                ChatMessage.role,
                ChatMessage.content,
                ChatMessage.thinking,
                ChatMessage.tool_calls,
            )
            .join(Chat, Chat.id == ChatMessage.chat_id)
            .where(Chat.account_id == account_id)
            .order_by(ChatMessage.id)
            .limit(BATCH)
        )
        if chat_ids is not None:
            stmt = stmt.where(ChatMessage.chat_id.in_(chat_ids))
        if last is not None:
            stmt = stmt.where(ChatMessage.id > last)
        rows = list((await db.execute(stmt)).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id


async def chats(db: AsyncSession, account_id: uuid.UUID, chat_ids: set[uuid.UUID] | None) -> list[Chat]:
    """The account's chats (those of `chat_ids`, or every one when None)."""
    stmt = select(Chat).where(Chat.account_id == account_id)
    if chat_ids is not None:
        if not chat_ids:
            return []
        stmt = stmt.where(Chat.id.in_(chat_ids))
    return list((await db.scalars(stmt.order_by(Chat.id))).all())


async def chat_exists(db: AsyncSession, account_id: uuid.UUID, chat_id: uuid.UUID) -> bool:
    found = await db.scalar(select(Chat.id).where(Chat.id == chat_id, Chat.account_id == account_id))
    return found is not None


async def rewrite_message(db: AsyncSession, message_id: uuid.UUID, values: dict[str, Any]) -> None:
    await db.execute(update(ChatMessage).where(ChatMessage.id == message_id).values(**values))


async def rewrite_title(db: AsyncSession, chat_id: uuid.UUID, title: str) -> None:
    await db.execute(update(Chat).where(Chat.id == chat_id).values(title=title))


async def has_redacted(db: AsyncSession, account_id: uuid.UUID) -> bool:
    """Whether the account ever redacted its library (the audit log keeps the record)."""
    found = await db.scalar(
        select(AuditEvent.id)
        .where(AuditEvent.action == REDACT_ACTION, AuditEvent.account_id == account_id)
        .limit(1)
    )
    return found is not None

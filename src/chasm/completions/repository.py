"""SQL of the completions domain: the chat a conversation is recorded in, and its messages."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage

messages_t = cast(Table, ChatMessage.__table__)


async def conversation_chat(
    db: AsyncSession, account_id: uuid.UUID, provider: str, source_id: str
) -> Chat | None:
    query = select(Chat).where(
        Chat.account_id == account_id, Chat.provider == provider, Chat.source_id == source_id
    )
    return await db.scalar(query.with_for_update())


async def message_keys(db: AsyncSession, chat_id: uuid.UUID) -> list[tuple[str, str]]:
    """(role, content) of the chat's messages, in order."""
    query = select(ChatMessage.role, ChatMessage.content).where(ChatMessage.chat_id == chat_id)
    return [(role, content or "") for role, content in await db.execute(query.order_by(ChatMessage.seq))]


async def insert_messages(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(messages_t), rows)

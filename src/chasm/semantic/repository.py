"""SQL of semantic search: messages still to embed, chunks, and what the index needs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatChunk, ChatMessage


async def pending_messages(
    db: AsyncSession,
    account_id: uuid.UUID,
    model: str,
    limit: int,
    after: uuid.UUID | None = None,
    chat_ids: list[uuid.UUID] | None = None,
) -> Sequence[Any]:
    """Messages of the account (of `chat_ids` only, if given) with text and no chunk under `model`
    yet, by id after `after`: (id, chat_id, content)."""
    chunked = and_(ChatChunk.message_id == ChatMessage.id, ChatChunk.model == model)
    query = (
        select(ChatMessage.id, ChatMessage.chat_id, ChatMessage.content)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .outerjoin(ChatChunk, chunked)
        .where(Chat.account_id == account_id, ChatChunk.id.is_(None), ChatMessage.content != "")
        .order_by(ChatMessage.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(ChatMessage.id > after)
    if chat_ids is not None:
        query = query.where(ChatMessage.chat_id.in_(chat_ids))
    return (await db.execute(query)).all()


async def accounts_with_pending(db: AsyncSession, model: str) -> list[uuid.UUID]:
    chunked = and_(ChatChunk.message_id == ChatMessage.id, ChatChunk.model == model)
    query = (
        select(Chat.account_id)
        .distinct()
        .join(ChatMessage, ChatMessage.chat_id == Chat.id)
        .outerjoin(ChatChunk, chunked)
        .where(ChatChunk.id.is_(None), ChatMessage.content != "")
    )
    return list((await db.execute(query)).scalars())


async def insert_chunks(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(ChatChunk), rows)


async def chunk_stats(db: AsyncSession, account_id: uuid.UUID, model: str) -> tuple[int, int]:
    """How many indexable chunks (with text) the account has under `model`, and the highest key."""
    query = select(func.count(), func.coalesce(func.max(ChatChunk.id), 0)).where(
        ChatChunk.account_id == account_id, ChatChunk.model == model, ChatChunk.text != ""
    )
    count, top = (await db.execute(query)).one()
    return int(count), int(top)


async def chunk_vectors(
    db: AsyncSession, account_id: uuid.UUID, model: str, after: int, limit: int
) -> Sequence[Any]:
    """(id, embedding) of the account's chunks with a key above `after`, by key."""
    query = (
        select(ChatChunk.id, ChatChunk.embedding)
        .where(
            ChatChunk.account_id == account_id,
            ChatChunk.model == model,
            ChatChunk.id > after,
            ChatChunk.text != "",
        )
        .order_by(ChatChunk.id)
        .limit(limit)
    )
    return (await db.execute(query)).all()


async def chunks_by_key(db: AsyncSession, account_id: uuid.UUID, keys: list[int]) -> Sequence[Any]:
    """(id, chat_id, message_id, text) of the account's chunks among `keys` (gone ones are absent)."""
    query = select(ChatChunk.id, ChatChunk.chat_id, ChatChunk.message_id, ChatChunk.text).where(
        ChatChunk.account_id == account_id, ChatChunk.id.in_(keys)
    )
    return (await db.execute(query)).all()

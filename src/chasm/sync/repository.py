"""SQL of sync: each chat's fingerprint, the bookkeeping rows, and whole chats to send or replace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage, ChatWorkspace, SyncEntry, SyncStatus


async def chat_heads(db: AsyncSession, account_id: uuid.UUID) -> Sequence[Any]:
    """(id, provider, source_id, title, tags, archived, model, workspace path) of every chat."""
    query = (
        select(
            Chat.id,
            Chat.provider,
            Chat.source_id,
            Chat.title,
            Chat.tags,
            Chat.archived,
            Chat.model,
            ChatWorkspace.path,
        )
        .outerjoin(ChatWorkspace, ChatWorkspace.id == Chat.workspace_id)
        .where(Chat.account_id == account_id)
    )
    return (await db.execute(query)).all()


async def message_hashes(db: AsyncSession, account_id: uuid.UUID) -> dict[uuid.UUID, list[str]]:
    """Per chat, its messages' `role:content_hash` in order."""
    query = (
        select(ChatMessage.chat_id, ChatMessage.role, ChatMessage.content_hash)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(Chat.account_id == account_id)
        .order_by(ChatMessage.chat_id, ChatMessage.seq)
    )
    found: dict[uuid.UUID, list[str]] = {}
    for chat_id, role, content_hash in (await db.execute(query)).all():
        found.setdefault(chat_id, []).append(f"{role}:{content_hash}")
    return found


async def entries(db: AsyncSession, account_id: uuid.UUID) -> dict[str, SyncEntry]:
    rows = await db.scalars(select(SyncEntry).where(SyncEntry.account_id == account_id))
    return {row.sync_id: row for row in rows}


async def set_entry(
    db: AsyncSession,
    account_id: uuid.UUID,
    sync_id: str,
    chat_id: uuid.UUID | None,
    base: str,
    loaded: dict[str, SyncEntry] | None = None,
) -> None:
    """Record a chat's base; `loaded`: the account's entries read in this session (`entries`), so
    that each call needs no query of its own."""
    row = loaded.get(sync_id) if loaded is not None else await db.get(SyncEntry, (account_id, sync_id))
    if row is None:
        row = SyncEntry(account_id=account_id, sync_id=sync_id, chat_id=chat_id, base=base)
        db.add(row)
        if loaded is not None:
            loaded[sync_id] = row
    else:
        row.chat_id, row.base = chat_id, base


async def status(db: AsyncSession, account_id: uuid.UUID) -> SyncStatus | None:
    return await db.get(SyncStatus, account_id)


async def set_status(db: AsyncSession, account_id: uuid.UUID, location: str, when: datetime) -> None:
    row = await db.get(SyncStatus, account_id)
    if row is None:
        db.add(SyncStatus(account_id=account_id, location=location, last_sync=when))
    else:
        row.location, row.last_sync = location, when


async def forget_location(db: AsyncSession, account_id: uuid.UUID) -> None:
    """A new location shares no history with the old one: every chat is compared afresh."""
    await db.execute(delete(SyncEntry).where(SyncEntry.account_id == account_id))


async def chats(db: AsyncSession, account_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Chat]:
    if not ids:
        return []
    return list(await db.scalars(select(Chat).where(Chat.account_id == account_id, Chat.id.in_(ids))))


async def messages_of(db: AsyncSession, chat_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ChatMessage]]:
    found: dict[uuid.UUID, list[ChatMessage]] = {c: [] for c in chat_ids}
    if chat_ids:
        rows = await db.scalars(
            select(ChatMessage).where(ChatMessage.chat_id.in_(chat_ids)).order_by(ChatMessage.seq)
        )
        for row in rows:
            found[row.chat_id].append(row)
    return found


async def workspaces(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, ChatWorkspace]:
    if not ids:
        return {}
    return {w.id: w for w in await db.scalars(select(ChatWorkspace).where(ChatWorkspace.id.in_(ids)))}


async def chat_by_source(
    db: AsyncSession, account_id: uuid.UUID, provider: str, source_id: str
) -> Chat | None:
    return await db.scalar(
        select(Chat).where(
            Chat.account_id == account_id, Chat.provider == provider, Chat.source_id == source_id
        )
    )


async def delete_messages(db: AsyncSession, chat_id: uuid.UUID) -> None:
    await db.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat_id))

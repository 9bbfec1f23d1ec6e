"""SQL of the chat library: chat workspaces, chats and their messages, always scoped to an account."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.models import Chat, ChatMessage, ChatWorkspace

messages_t = cast(Table, ChatMessage.__table__)


MAX_TAG_FILTERS = 20  # tags a chat list may be filtered by (API and CLI)


@dataclass
class ChatFilters:
    workspace_id: uuid.UUID | None = None
    provider: tuple[str, ...] | None = None  # any of these providers
    archived: bool | None = None
    model: str | None = None  # the chat's model, or a model one of its messages came from
    tags: tuple[str, ...] = ()  # every one of these tags


_EMPTY_CHAT: dict[str, Any] = {
    "tags": [],
    "archived": False,
    "message_count": 0,
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "tool_call_count": 0,
}


def new_chat(**fields: Any) -> Chat:
    """A new Chat row, not yet added to a session: no messages, every counter at zero, no tags,
    not archived; a fresh id unless `id` is given, and its own id as `source_id` unless one is given.
    `fields` sets the rest (account_id and provider at least)."""
    chat_id = fields.pop("id", None) or uuid.uuid4()
    fields.setdefault("source_id", str(chat_id))
    for name, value in _EMPTY_CHAT.items():
        fields.setdefault(name, list(value) if isinstance(value, list) else value)
    return Chat(id=chat_id, **fields)


async def list_workspaces(
    db: AsyncSession, account_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[tuple[ChatWorkspace, int]], int]:
    counts = (
        select(Chat.workspace_id, func.count().label("n"))
        .where(Chat.account_id == account_id, Chat.workspace_id.is_not(None))
        .group_by(Chat.workspace_id)
        .subquery()
    )
    rows = await db.execute(
        select(ChatWorkspace, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.workspace_id == ChatWorkspace.id)
        .where(ChatWorkspace.account_id == account_id)
        .order_by(ChatWorkspace.updated_at.desc(), ChatWorkspace.id)
        .limit(limit)
        .offset(offset)
    )
    total = await db.scalar(
        select(func.count()).select_from(ChatWorkspace).where(ChatWorkspace.account_id == account_id)
    )
    return [(ws, int(n)) for ws, n in rows], int(total or 0)


async def get_workspace(
    db: AsyncSession, account_id: uuid.UUID, workspace_id: uuid.UUID
) -> ChatWorkspace | None:
    return await db.scalar(
        select(ChatWorkspace).where(ChatWorkspace.id == workspace_id, ChatWorkspace.account_id == account_id)
    )


async def find_workspace(
    db: AsyncSession, account_id: uuid.UUID, path: str, provider: str | None
) -> ChatWorkspace | None:
    query = select(ChatWorkspace).where(ChatWorkspace.account_id == account_id, ChatWorkspace.path == path)
    query = query.where(
        ChatWorkspace.provider.is_(None) if provider is None else ChatWorkspace.provider == provider
    )
    return await db.scalar(query)


async def workspace_chat_count(db: AsyncSession, account_id: uuid.UUID, workspace_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(Chat)
        .where(Chat.account_id == account_id, Chat.workspace_id == workspace_id)
    )
    return int(count or 0)


async def detach_workspace(db: AsyncSession, account_id: uuid.UUID, workspace_id: uuid.UUID) -> None:
    await db.execute(
        update(Chat)
        .where(Chat.account_id == account_id, Chat.workspace_id == workspace_id)
        .values(workspace_id=None)
        .execution_options(synchronize_session=False)
    )


async def list_chats(
    db: AsyncSession, account_id: uuid.UUID, filters: ChatFilters, limit: int, offset: int
) -> tuple[list[Chat], int]:
    conditions: list[Any] = [Chat.account_id == account_id]
    if filters.workspace_id is not None:
        conditions.append(Chat.workspace_id == filters.workspace_id)
    if filters.provider is not None:
        conditions.append(Chat.provider.in_(filters.provider))
    if filters.archived is not None:
        conditions.append(Chat.archived.is_(filters.archived))
    if filters.model is not None:
        by_message = exists().where(ChatMessage.chat_id == Chat.id, ChatMessage.model == filters.model)
        conditions.append(or_(Chat.model == filters.model, by_message))
    conditions.extend(_has_tag(db, tag) for tag in filters.tags)
    rows = await db.scalars(
        select(Chat).where(*conditions).order_by(Chat.updated_at.desc(), Chat.id).limit(limit).offset(offset)
    )
    total = await db.scalar(select(func.count()).select_from(Chat).where(*conditions))
    return list(rows), int(total or 0)


def _has_tag(db: AsyncSession, tag: str) -> ColumnElement[bool]:
    """The chat's `tags` (a JSON array) holds `tag`: JSONB containment on PostgreSQL, json_each on SQLite."""
    if db.get_bind().dialect.name == "postgresql":
        return Chat.tags.op("@>")(sql_cast(literal(json.dumps([tag])), JSONB))
    element = func.json_each(Chat.tags).table_valued("value")
    return exists(select(literal(1)).select_from(element).where(element.c.value == tag))


async def get_chat(db: AsyncSession, account_id: uuid.UUID, chat_id: uuid.UUID) -> Chat | None:
    return await db.scalar(select(Chat).where(Chat.id == chat_id, Chat.account_id == account_id))


async def chat_ids_with_prefix(
    db: AsyncSession, account_id: uuid.UUID, prefix: str, limit: int = 2
) -> list[uuid.UUID]:
    """Ids of the account's chats whose hex form (no dashes) starts with `prefix` (lowercase hex)."""
    hex_id = func.replace(func.lower(sql_cast(Chat.id, String)), "-", "")
    rows = await db.scalars(
        select(Chat.id).where(Chat.account_id == account_id, hex_id.like(prefix + "%")).limit(limit)
    )
    return list(rows)


async def get_chats(db: AsyncSession, account_id: uuid.UUID, chat_ids: Sequence[uuid.UUID]) -> list[Chat]:
    rows = await db.scalars(select(Chat).where(Chat.account_id == account_id, Chat.id.in_(chat_ids)))
    return list(rows)


async def messages(
    db: AsyncSession,
    chat_id: uuid.UUID,
    limit: int | None = None,
    offset: int = 0,
    up_to_seq: int | None = None,
) -> list[ChatMessage]:
    query = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
    if up_to_seq is not None:
        query = query.where(ChatMessage.seq <= up_to_seq)
    query = query.order_by(ChatMessage.seq).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(await db.scalars(query))


# The columns a message is read with (MessageRead), in this order: `message_rows` returns them as
# plain rows, without ORM objects, for a chat's pages and whole chats (2,000 messages read as ORM
# objects cost about as much again as everything else in the answer). The id comes as the
# driver gives it (SQLite: 32 hex digits), left for the read schema to parse, in one go.
MESSAGE_READ_COLUMNS = (
    type_coerce(ChatMessage.id, String),
    ChatMessage.seq,
    ChatMessage.role,
    ChatMessage.content,
    ChatMessage.thinking,
    ChatMessage.tool_calls,
    ChatMessage.model,
    ChatMessage.input_tokens,
    ChatMessage.output_tokens,
    ChatMessage.cache_read_tokens,
    ChatMessage.cache_write_tokens,
    ChatMessage.source_id,
    ChatMessage.meta,
    ChatMessage.created_at,
)


async def message_rows(
    db: AsyncSession, chat_id: uuid.UUID, limit: int | None = None, offset: int = 0
) -> Sequence[Any]:
    """A chat's messages in order as rows of MESSAGE_READ_COLUMNS (Core, on the session's
    connection: the ORM's statement handling adds a third for plain columns)."""
    query = (
        select(*MESSAGE_READ_COLUMNS)
        .where(ChatMessage.chat_id == chat_id)
        .order_by(ChatMessage.seq)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    connection = await db.connection()
    return (await connection.execute(query)).all()


async def messages_by_id(db: AsyncSession, ids: list[uuid.UUID]) -> list[ChatMessage]:
    """Messages by id (callers have already scoped the ids to an account)."""
    if not ids:
        return []
    return list(await db.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids))))


async def get_message(db: AsyncSession, chat_id: uuid.UUID, message_id: uuid.UUID) -> ChatMessage | None:
    return await db.scalar(
        select(ChatMessage).where(ChatMessage.id == message_id, ChatMessage.chat_id == chat_id)
    )


async def next_seq(db: AsyncSession, chat_id: uuid.UUID) -> int:
    last = await db.scalar(select(func.max(ChatMessage.seq)).where(ChatMessage.chat_id == chat_id))
    return 0 if last is None else int(last) + 1


async def insert_messages(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(messages_t), rows)


async def delete_chat(db: AsyncSession, chat: Chat) -> None:
    await db.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat.id))
    await db.execute(
        update(Chat)
        .where(Chat.parent_chat_id == chat.id)
        .values(parent_chat_id=None)
        .execution_options(synchronize_session=False)
    )
    await db.delete(chat)


async def message_position(db: AsyncSession, chat_id: uuid.UUID, seq: int) -> int:
    """How many of the chat's messages come before the one numbered `seq` (its list offset)."""
    count = await db.scalar(
        select(func.count())
        .select_from(ChatMessage)
        .where(ChatMessage.chat_id == chat_id, ChatMessage.seq < seq)
    )
    return int(count or 0)


async def workspaces_of(db: AsyncSession, chat_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    """{chat id: its chat workspace id} of these chats (any account: for events already scoped)."""
    rows = await db.execute(select(Chat.id, Chat.workspace_id).where(Chat.id.in_(chat_ids)))
    return {chat_id: ws for chat_id, ws in rows}

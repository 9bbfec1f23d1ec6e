"""Chat library use cases: chats ("sessions" in the URLs), messages, fork and merge (chat workspaces:
`chats.workspaces`).
Each returns rows or read schemas; the endpoints shape them for their surface."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.chats import merge as merging
from chasm.chats import repository as repo
from chasm.chats.exceptions import (
    AmbiguousChatId,
    ChatNotFound,
    InvalidMerge,
    MessageNotFound,
    WorkspaceNotFound,
)
from chasm.chats.schemas import (
    ChatDetail,
    ChatList,
    ChatRead,
    CreateMessage,
    CreateSession,
    Deleted,
    ForkSession,
    MergeSessions,
    MessageRead,
    UpdateSession,
    Usage,
)
from chasm.harvest.rows import content_hash
from chasm.kit.gcpause import gc_pause
from chasm.kit.timeutil import iso, utcnow
from chasm.models import Chat, ChatMessage

LOCAL_PROVIDER = "chasm"  # chats created, forked or merged through the API


def visible_source_path(path: str | None, host_paths: bool) -> str | None:
    """A chat's source file as its caller may see it: a harvested chat's path on the server only for
    an instance administrator (null for others); an uploaded chat's path, relative to its upload,
    for everyone."""
    if path is None or host_paths:
        return path
    if path.startswith(("/", "\\", "~")) or (len(path) > 1 and path[1] == ":"):
        return None
    return path


def _usage(row: Chat | ChatMessage) -> Usage:
    return Usage(
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
    )


def chat_out(chat: Chat, *, host_paths: bool) -> ChatRead:
    usage = _usage(chat)
    return ChatRead(
        id=chat.id,
        title=chat.title or "",
        workspace_id=chat.workspace_id,
        provider=chat.provider,
        model=chat.model,
        message_count=chat.message_count,
        token_count=sum(usage.model_dump().values()),
        usage=usage,
        tool_call_count=chat.tool_call_count,
        archived=chat.archived,
        tags=list(chat.tags or []),
        source_id=chat.source_id,
        source_path=visible_source_path(chat.source_path, host_paths),
        source_missing=chat.source_missing,
        parent_id=chat.parent_chat_id,
        forked_from_message_id=chat.forked_from_message_id,
        metadata=chat.meta,
        started_at=iso(chat.started_at),
        created_at=iso(chat.created_at),
        updated_at=iso(chat.updated_at),
    )


def message_out(msg: ChatMessage) -> MessageRead:
    usage = _usage(msg)
    return MessageRead(
        id=msg.id,
        session_id=msg.chat_id,
        seq=msg.seq,
        role=msg.role,  # type: ignore[arg-type]
        content=msg.content or "",
        thinking=msg.thinking,
        tool_calls=list(msg.tool_calls or []),
        model=msg.model,
        token_count=sum(usage.model_dump().values()),
        usage=usage,
        source_id=msg.source_id,
        metadata=msg.meta,
        created_at=iso(msg.created_at),
    )


_MESSAGE_LIST = TypeAdapter(list[MessageRead])


def messages_out(chat_id: uuid.UUID, rows: Iterable[Any]) -> list[MessageRead]:
    """Messages read as rows of `repo.MESSAGE_READ_COLUMNS`, as `message_out` makes them, validated
    in one call (a long chat: per-message models built one by one cost most of its answer)."""
    items = []
    for (
        id_,
        seq,
        role,
        content,
        thinking,
        tool_calls,
        model,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        source_id,
        meta,
        created_at,
    ) in rows:
        items.append(
            {
                "id": id_,
                "session_id": chat_id,
                "seq": seq,
                "role": role,
                "content": content or "",
                "thinking": thinking,
                "tool_calls": tool_calls or [],
                "model": model,
                "token_count": input_tokens + output_tokens + cache_read + cache_write,
                "usage": {
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cache_read_tokens": cache_read,
                    "cache_write_tokens": cache_write,
                },
                "source_id": source_id,
                "metadata": meta,
                "created_at": iso(created_at),
            }
        )
    return _MESSAGE_LIST.validate_python(items)


# Workspaces


async def _chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> Chat:
    chat = await repo.get_chat(db, actor.account_id, chat_id)
    if chat is None:
        raise ChatNotFound()
    return chat


MIN_ID_PREFIX = 4


async def resolve_chat_id(db: AsyncSession, actor: Actor, text: str) -> uuid.UUID:
    """A chat id from a full id or, as git takes commits, a unique prefix of one (at least
    MIN_ID_PREFIX hex digits, dashes ignored): the 8 characters a table shows are enough."""
    value = text.strip().lower()
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    prefix = value.replace("-", "")
    if len(prefix) < MIN_ID_PREFIX or len(prefix) > 32 or any(c not in "0123456789abcdef" for c in prefix):
        raise ChatNotFound()
    found = await repo.chat_ids_with_prefix(db, actor.account_id, prefix)
    if not found:
        raise ChatNotFound()
    if len(found) > 1:
        raise AmbiguousChatId(text)
    return found[0]


async def list_chats(
    db: AsyncSession, actor: Actor, filters: repo.ChatFilters, limit: int, offset: int
) -> ChatList:
    chats, total = await repo.list_chats(db, actor.account_id, filters, limit, offset)
    return ChatList(
        sessions=[chat_out(c, host_paths=actor.instance_admin) for c in chats],
        total=total,
        limit=limit,
        offset=offset,
    )


async def get_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> ChatDetail:
    chat = await _chat(db, actor, chat_id)
    with gc_pause():  # a long chat builds a few objects per message, none in cycles
        messages = messages_out(chat.id, await repo.message_rows(db, chat.id))
    return ChatDetail(**chat_out(chat, host_paths=actor.instance_admin).model_dump(), messages=messages)


def _new_message_row(chat_id: uuid.UUID, seq: int, body: CreateMessage) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "chat_id": chat_id,
        "seq": seq,
        "role": body.role,
        "content": body.content.replace("\x00", ""),
        "thinking": None,
        "tool_calls": None,
        "model": None,
        "source_id": None,
        "parent_source_id": None,
        "content_hash": content_hash(body.role, body.content, now),
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "created_at": now,
        "metadata": None,
    }


def _copied_row(chat_id: uuid.UUID, seq: int, msg: ChatMessage) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "chat_id": chat_id,
        "seq": seq,
        "role": msg.role,
        "content": msg.content,
        "thinking": msg.thinking,
        "tool_calls": msg.tool_calls,
        "tool_text": msg.tool_text,
        "model": msg.model,
        "source_id": msg.source_id,
        "parent_source_id": msg.parent_source_id,
        "content_hash": msg.content_hash,
        "input_tokens": msg.input_tokens,
        "output_tokens": msg.output_tokens,
        "cache_read_tokens": msg.cache_read_tokens,
        "cache_write_tokens": msg.cache_write_tokens,
        "created_at": msg.created_at,
        "metadata": msg.meta,
    }


def _apply_totals(chat: Chat, rows: Iterable[dict[str, Any]]) -> None:
    """Set the chat's aggregates from the message rows it holds."""
    rows = list(rows)
    chat.message_count = len(rows)
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        setattr(chat, key, sum(r[key] for r in rows))
    chat.tool_call_count = sum(len(r["tool_calls"] or ()) for r in rows)
    stamps = [r["created_at"] for r in rows if r["created_at"] is not None]
    chat.started_at = min(stamps) if stamps else chat.started_at
    chat.updated_at = max(stamps) if stamps else utcnow()
    models = [r["model"] for r in rows if r["model"]]
    chat.model = models[-1] if models else chat.model


async def _new_chat(db: AsyncSession, actor: Actor, **fields: Any) -> Chat:
    chat = repo.new_chat(account_id=actor.account_id, **fields)
    db.add(chat)
    await db.flush()
    return chat


async def create_chat(db: AsyncSession, actor: Actor, body: CreateSession) -> ChatDetail:
    workspace_id = body.workspace_id
    if workspace_id is not None and await repo.get_workspace(db, actor.account_id, workspace_id) is None:
        raise WorkspaceNotFound()
    chat = await _new_chat(
        db,
        actor,
        provider=body.provider or LOCAL_PROVIDER,
        workspace_id=body.workspace_id,
        title=body.title,
        tags=list(dict.fromkeys(body.tags)),
        started_at=utcnow(),
    )
    rows = [_new_message_row(chat.id, i, m) for i, m in enumerate(body.messages)]
    await repo.insert_messages(db, rows)
    _apply_totals(chat, rows)
    await db.flush()
    record(db, actor, "session.create", "chat", chat.id)
    return await get_chat(db, actor, chat.id)


async def update_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID, body: UpdateSession) -> ChatRead:
    chat = await _chat(db, actor, chat_id)
    changed = body.model_dump(exclude_unset=True)
    if "title" in changed:
        chat.title = body.title
        chat.title_edited = True  # a harvest of the chat's source keeps it from now on
    if body.tags is not None:
        chat.tags = list(dict.fromkeys(body.tags))
    if body.archived is not None:
        chat.archived = body.archived
    await db.flush()
    record(db, actor, "session.update", "chat", chat.id, metadata={"fields": sorted(changed)})
    return chat_out(chat, host_paths=actor.instance_admin)


async def delete_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> Deleted:
    chat = await _chat(db, actor, chat_id)
    await repo.delete_chat(db, chat)
    record(db, actor, "session.delete", "chat", chat_id, summary=chat.title)
    return Deleted(id=chat_id)


async def archive_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> ChatRead:
    chat = await _chat(db, actor, chat_id)
    chat.archived = True
    await db.flush()
    record(db, actor, "session.archive", "chat", chat.id)
    return chat_out(chat, host_paths=actor.instance_admin)


async def fork_chat(db: AsyncSession, actor: Actor, chat_id: uuid.UUID, body: ForkSession) -> ChatDetail:
    """A new chat holding the messages up to and including `message_id` (all when absent)."""
    source = await _chat(db, actor, chat_id)
    up_to: int | None = None
    if body.message_id is not None:
        at = await repo.get_message(db, source.id, body.message_id)
        if at is None:
            raise MessageNotFound()
        up_to = at.seq
    chat = await _new_chat(
        db,
        actor,
        provider=source.provider,
        workspace_id=source.workspace_id,
        title=body.title or f"{source.title or 'Untitled'} (fork)",
        parent_chat_id=source.id,
        parent_source_id=source.source_id,
        forked_from_message_id=body.message_id,
        model=source.model,
        started_at=source.started_at,
        meta={"forked_from": str(source.id)},
    )
    rows = [
        _copied_row(chat.id, i, m) for i, m in enumerate(await repo.messages(db, source.id, up_to_seq=up_to))
    ]
    await repo.insert_messages(db, rows)
    _apply_totals(chat, rows)
    await db.flush()
    record(db, actor, "session.fork", "chat", chat.id, metadata={"source": str(source.id)})
    return await get_chat(db, actor, chat.id)


async def merge_chats(db: AsyncSession, actor: Actor, body: MergeSessions) -> ChatDetail:
    ids = list(dict.fromkeys(body.session_ids))
    if len(ids) < 2:
        raise InvalidMerge("Merging needs at least two different sessions")
    found = {c.id: c for c in await repo.get_chats(db, actor.account_id, ids)}
    if len(found) != len(ids):
        raise ChatNotFound()
    sources = [found[i] for i in ids]
    items: list[list[merging.MergeItem]] = []
    for index, chat in enumerate(sources):
        items.append(
            [
                merging.MergeItem(index, m.seq, m.role, m.content, m.created_at, m.content_hash, m)
                for m in await repo.messages(db, chat.id)
            ]
        )
    ordered = merging.STRATEGIES[body.strategy](items)
    providers = {c.provider for c in sources}
    workspaces = {c.workspace_id for c in sources}
    chat = await _new_chat(
        db,
        actor,
        provider=providers.pop() if len(providers) == 1 else LOCAL_PROVIDER,
        workspace_id=workspaces.pop() if len(workspaces) == 1 else None,
        title=body.title or "Merged: " + " + ".join(c.title or "Untitled" for c in sources),
        tags=sorted({t for c in sources for t in (c.tags or [])}),
        meta={"merged_from": [str(c.id) for c in sources], "strategy": body.strategy},
    )
    rows = [_copied_row(chat.id, i, item.payload) for i, item in enumerate(ordered)]
    await repo.insert_messages(db, rows)
    _apply_totals(chat, rows)
    await db.flush()
    record(
        db,
        actor,
        "session.merge",
        "chat",
        chat.id,
        metadata={"sources": [str(i) for i in ids], "strategy": body.strategy},
    )
    return await get_chat(db, actor, chat.id)


async def list_messages(
    db: AsyncSession, actor: Actor, chat_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[MessageRead], int]:
    chat = await _chat(db, actor, chat_id)
    rows = await repo.message_rows(db, chat.id, limit=limit, offset=offset)
    return messages_out(chat.id, rows), chat.message_count


async def add_message(db: AsyncSession, actor: Actor, chat_id: uuid.UUID, body: CreateMessage) -> MessageRead:
    chat = await _chat(db, actor, chat_id)
    row = _new_message_row(chat.id, await repo.next_seq(db, chat.id), body)
    await repo.insert_messages(db, [row])
    chat.message_count += 1
    chat.updated_at = row["created_at"]
    chat.started_at = chat.started_at or row["created_at"]
    await db.flush()
    record(db, actor, "session.message.create", "chat", chat.id)
    message = await repo.get_message(db, chat.id, row["id"])
    assert message is not None
    return message_out(message)

"""A run as a chat of the library: its chat, each message as it happens (assistant replies with
their tool calls, tool results as `tool` messages naming their call), and the conversation read
back from the chat for the model (how a run resumes after a pause or a restart)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.chats import repository as chats_repo
from chasm.harvest.rows import clean, content_hash
from chasm.harvest.tool_text import tool_text
from chasm.kit.timeutil import utcnow
from chasm.models import Chat
from chasm.providers.llm import ChatMessage, ToolCall, Usage

PROVIDER = "chasm"  # chats made through the API (chasm.harvest.provider_names.API_PROVIDER)


async def new_chat(
    db: AsyncSession,
    account_id: uuid.UUID,
    *,
    title: str,
    model: str | None,
    meta: dict[str, Any],
    parent: Chat | None = None,
) -> Chat:
    """A chat for a run; a child of `parent` (the coordinator's chat, the continued chat)."""
    now = utcnow()
    chat = chats_repo.new_chat(
        account_id=account_id,
        provider=PROVIDER,
        workspace_id=parent.workspace_id if parent is not None else None,
        parent_chat_id=parent.id if parent is not None else None,
        parent_source_id=parent.source_id if parent is not None else None,
        title=title[:1000],
        model=model[:200] if model else None,
        tags=["agent"],
        started_at=now,
        updated_at=now,
        meta=meta,
    )
    db.add(chat)
    await db.flush()
    return chat


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def append(
    db: AsyncSession,
    chat: Chat,
    message: ChatMessage,
    *,
    usage: Usage | None = None,
    model: str | None = None,
    is_error: bool = False,
) -> None:
    """Add `message` to the end of the chat, with the chat's totals kept."""
    now = utcnow()
    content = clean(message.content or "")
    calls = [
        {"id": c.id, "name": c.name, "input": clean(_arguments(c.arguments)), "arguments": clean(c.arguments)}
        for c in message.tool_calls
    ]
    meta: dict[str, Any] = {}
    if message.tool_call_id is not None:
        meta = {"tool_call_id": message.tool_call_id, "is_error": is_error}
    usage = usage or Usage()
    row = {
        "id": uuid.uuid4(),
        "chat_id": chat.id,
        "seq": await chats_repo.next_seq(db, chat.id),
        "role": message.role,
        "content": content,
        "thinking": None,
        "tool_calls": calls or None,
        "tool_text": tool_text(calls) if calls else None,
        "model": model[:200] if model else None,
        "source_id": None,
        "parent_source_id": None,
        "content_hash": content_hash(message.role, content, now),
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "created_at": now,
        "metadata": meta or None,
    }
    await chats_repo.insert_messages(db, [row])
    chat.message_count += 1
    chat.tool_call_count += len(calls)
    chat.input_tokens += usage.input_tokens
    chat.output_tokens += usage.output_tokens
    chat.cache_read_tokens += usage.cache_read_tokens
    chat.cache_write_tokens += usage.cache_write_tokens
    chat.updated_at = now
    if model:
        chat.model = model[:200]
    await db.flush()


async def conversation(db: AsyncSession, chat_id: uuid.UUID, from_seq: int) -> list[ChatMessage]:
    """The run's messages as the model saw them, from the chat (those from `from_seq` on)."""
    out: list[ChatMessage] = []
    for row in await chats_repo.messages(db, chat_id):
        if row.seq < from_seq or row.role not in ("system", "user", "assistant", "tool"):
            continue
        calls = [
            ToolCall(
                id=str(c.get("id")),
                name=str(c.get("name")),
                arguments=c.get("arguments") or json.dumps(c.get("input")),
            )
            for c in row.tool_calls or []
        ]
        call_id = (row.meta or {}).get("tool_call_id") if row.role == "tool" else None
        out.append(ChatMessage(row.role, row.content, calls, call_id))  # type: ignore[arg-type]
    return out

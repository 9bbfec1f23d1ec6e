"""Every completion is a chat of the library (provider `chasm`): the request's messages the chat
does not hold yet, then the answer with its usage and cost. A conversation id names the chat, so
the next completion of the same conversation appends to it; without one, each completion is its
own chat. Stored in one short transaction, after the provider answered (no transaction is open
while the model thinks), and searchable as soon as it commits (the search index follows the rows)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chasm.auth.actor import Actor
from chasm.chats.repository import new_chat
from chasm.completions import repository as repo
from chasm.completions.content import image_facts, image_note
from chasm.harvest.rows import clean, content_hash
from chasm.harvest.tool_text import tool_text
from chasm.kit.timeutil import utcnow
from chasm.providers.llm import ChatMessage, Completion, Image

PROVIDER = "chasm"
TITLE_CHARS = 120


@dataclass
class Recorded:
    chat_id: uuid.UUID
    conversation_id: str


def _stored_text(message: ChatMessage) -> str:
    """The message's text; its images as notes in their place (never their bytes)."""
    if message.parts is None:
        return clean(message.content or "")
    pieces = [image_note(p) if isinstance(p, Image) else p for p in message.parts]
    return clean("\n".join(p for p in pieces if p))


def _calls(message: ChatMessage) -> list[dict[str, Any]] | None:
    if not message.tool_calls:
        return None
    out = []
    for call in message.tool_calls:
        try:
            value: Any = json.loads(call.arguments) if call.arguments else {}
        except ValueError:
            value = call.arguments
        out.append({"id": call.id, "name": call.name, "input": clean(value)})
    return out


def _row(chat_id: uuid.UUID, seq: int, message: ChatMessage, now: datetime, **extra: Any) -> dict[str, Any]:
    content = _stored_text(message)
    calls = _calls(message)
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "chat_id": chat_id,
        "seq": seq,
        "role": message.role,
        "content": content,
        "thinking": None,
        "tool_calls": calls,
        "tool_text": tool_text(calls or ()),
        "model": None,
        "source_id": message.tool_call_id,
        "parent_source_id": None,
        "content_hash": content_hash(message.role, content, now),
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "created_at": now,
        "metadata": None,
    }
    if message.parts is not None:
        row["metadata"] = {"images": [image_facts(p) for p in message.parts if isinstance(p, Image)]}
    row.update(extra)
    return row


def _title(messages: list[ChatMessage]) -> str | None:
    for m in messages:
        if m.role == "user" and (m.content or "").strip():
            line = " ".join((m.content or "").split())
            return line[:TITLE_CHARS]
    return None


def _new(messages: list[ChatMessage], stored: list[tuple[str, str]]) -> list[ChatMessage]:
    """The request's messages after the longest prefix the chat holds already (a client resends
    the whole conversation each time; one that sends only the new turn gets it appended)."""
    same = 0
    for message, (role, content) in zip(messages, stored, strict=False):
        if message.role != role or _stored_text(message) != content:
            break
        same += 1
    return messages[same:]


async def _store(
    db: AsyncSession,
    actor: Actor,
    conversation_id: str,
    completion_id: str,
    messages: list[ChatMessage],
    answer: Completion,
    provider: str,
) -> Recorded:
    now = utcnow()
    chat = await repo.conversation_chat(db, actor.account_id, PROVIDER, conversation_id)
    if chat is None:
        chat = new_chat(
            account_id=actor.account_id,
            provider=PROVIDER,
            source_id=conversation_id,
            title=_title(messages),
            model=answer.model,
            started_at=now,
            updated_at=now,
            meta={"completions": True, "cost_usd": 0.0},
        )
        db.add(chat)
        await db.flush()
        new = messages
    else:
        new = _new(messages, await repo.message_keys(db, chat.id))
    seq = chat.message_count
    rows = [_row(chat.id, seq + i, m, now) for i, m in enumerate(new)]
    usage = answer.usage
    meta: dict[str, Any] = {"completion_id": completion_id, "provider": provider, "cost_usd": answer.cost_usd}
    meta["finish_reason"] = answer.finish_reason
    rows.append(
        _row(
            chat.id,
            seq + len(rows),
            answer.message,
            now,
            model=answer.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            metadata=meta,
        )
    )
    await repo.insert_messages(db, rows)
    chat.message_count += len(rows)
    chat.input_tokens += usage.input_tokens
    chat.output_tokens += usage.output_tokens
    chat.cache_read_tokens += usage.cache_read_tokens
    chat.cache_write_tokens += usage.cache_write_tokens
    chat.tool_call_count += sum(len(r["tool_calls"] or ()) for r in rows)
    chat.model = answer.model
    chat.title = chat.title or _title(messages)
    chat.updated_at = now
    cost = (chat.meta or {}).get("cost_usd") or 0.0
    chat.meta = {**(chat.meta or {}), "cost_usd": round(cost + (answer.cost_usd or 0.0), 6)}
    await db.flush()
    return Recorded(chat_id=chat.id, conversation_id=conversation_id)


async def record(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    conversation_id: str,
    completion_id: str,
    messages: list[ChatMessage],
    answer: Completion,
    provider: str,
) -> Recorded:
    for attempt in (1, 2):
        try:
            async with maker() as db, db.begin():
                return await _store(db, actor, conversation_id, completion_id, messages, answer, provider)
        except IntegrityError:
            if attempt == 2:  # two requests of one new conversation: the second appends
                raise
    raise AssertionError("unreachable")

"""A chat as a sync object (JSON), its fingerprint, and putting a received one in the library.

A chat is named across installations by `sync_id`, a hash of its provider and source id: the same
harvested conversation has the same name everywhere. Its fingerprint covers what a person sees
(title, tags, archived, model, workspace path, and each message's role and content hash), so an
imported copy has the fingerprint of the original."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.chats import repository as chats_repo
from chasm.kit.timeutil import aware
from chasm.models import Chat, ChatMessage, ChatWorkspace
from chasm.sync import repository as repo

DELETED = "deleted"
CHAT_FIELDS = (
    "provider",
    "source_id",
    "parent_source_id",
    "title",
    "title_edited",
    "model",
    "tags",
    "archived",
    "message_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "tool_call_count",
    "meta",
)
MESSAGE_FIELDS = (
    "seq",
    "role",
    "content",
    "thinking",
    "tool_calls",
    "tool_text",
    "model",
    "source_id",
    "parent_source_id",
    "content_hash",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "meta",
)


def sync_id(provider: str, source_id: str) -> str:
    return hashlib.sha256(f"{provider}\0{source_id}".encode()).hexdigest()[:40]


def head(
    title: str | None, tags: list[Any] | None, archived: bool, model: str | None, workspace_path: str | None
) -> str:
    """What a person sees of a chat besides its messages."""
    return json.dumps([title, tags or [], bool(archived), model, workspace_path], sort_keys=True)


def doc_head(doc: dict[str, Any]) -> str:
    chat, ws = doc["chat"], doc.get("workspace")
    return head(chat["title"], chat["tags"], chat["archived"], chat["model"], ws and ws["path"])


def fingerprint(chat_head: str, messages: list[str]) -> str:
    digest = hashlib.sha256(chat_head.encode())
    for line in messages:
        digest.update(b"\n" + line.encode())
    return digest.hexdigest()


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: Any) -> datetime | None:
    return aware(datetime.fromisoformat(value)) if isinstance(value, str) else None


def export(chat: Chat, messages: list[ChatMessage], workspace: ChatWorkspace | None) -> dict[str, Any]:
    return {
        "chat": {
            **{f: getattr(chat, f) for f in CHAT_FIELDS},
            "started_at": _stamp(chat.started_at),
            "updated_at": _stamp(chat.updated_at),
        },
        "workspace": {"name": workspace.name, "path": workspace.path, "provider": workspace.provider}
        if workspace
        else None,
        "messages": [
            {**{f: getattr(m, f) for f in MESSAGE_FIELDS}, "created_at": _stamp(m.created_at)}
            for m in messages
        ],
    }


def doc_lines(doc: dict[str, Any]) -> list[str]:
    return [f"{m['role']}:{m['content_hash']}" for m in doc["messages"]]


def doc_fingerprint(doc: dict[str, Any]) -> str:
    return fingerprint(doc_head(doc), doc_lines(doc))


async def _workspace_id(
    db: AsyncSession, account_id: uuid.UUID, ws: dict[str, Any] | None
) -> uuid.UUID | None:
    if not ws:
        return None
    found = await chats_repo.find_workspace(db, account_id, ws["path"], ws.get("provider"))
    if found is None:
        found = ChatWorkspace(
            account_id=account_id, name=ws["name"], path=ws["path"], provider=ws.get("provider")
        )
        db.add(found)
        await db.flush()
    return found.id


async def import_doc(
    db: AsyncSession,
    account_id: uuid.UUID,
    doc: dict[str, Any],
    *,
    source_id: str | None = None,
    parent_chat_id: uuid.UUID | None = None,
    title_suffix: str = "",
) -> Chat:
    """Create or replace the chat (matched by provider and source id) with the document's
    version; with `source_id`, a new chat (a conflict's other version) forked from `parent_chat_id`."""
    fields = {f: doc["chat"].get(f) for f in CHAT_FIELDS}
    if source_id is not None:
        fields["source_id"] = source_id
    if title_suffix:
        fields["title"] = f"{fields['title'] or 'Untitled'}{title_suffix}"
        fields["title_edited"] = True
    fields["tags"] = fields["tags"] or []
    chat = await repo.chat_by_source(db, account_id, fields["provider"], fields["source_id"])
    if chat is None:
        chat = Chat(account_id=account_id, **fields)
        db.add(chat)
    else:
        for name, value in fields.items():
            setattr(chat, name, value)
        await repo.delete_messages(db, chat.id)
    chat.workspace_id = await _workspace_id(db, account_id, doc.get("workspace"))
    chat.started_at = _when(doc["chat"].get("started_at"))
    chat.updated_at = _when(doc["chat"].get("updated_at")) or chat.updated_at
    if parent_chat_id is not None:
        chat.parent_chat_id = parent_chat_id
    await db.flush()
    rows = [
        {
            **{f: m.get(f) for f in MESSAGE_FIELDS},
            "id": uuid.uuid4(),
            "chat_id": chat.id,
            "created_at": _when(m.get("created_at")),
        }
        for m in doc["messages"]
    ]
    for row in rows:
        for counter in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            row[counter] = row[counter] or 0
        row["content"] = row["content"] or ""
    await chats_repo.insert_messages(db, rows)
    chat.message_count = len(rows)
    return chat

"""The chat an exporter renders, loaded once: the chat, its workspace and its ordered messages."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.chats import repository as repo
from chasm.kit.errors import NotFound
from chasm.kit.ids import parse_uuid
from chasm.models import Chat, ChatMessage, ChatWorkspace


@dataclass
class ChatDocument:
    """Everything an exporter renders: the chat, its workspace and its ordered messages."""

    chat: Chat
    workspace: ChatWorkspace | None
    messages: list[ChatMessage]
    host_paths: bool = True  # whether the reader may see the chat's path on the server

    @property
    def title(self) -> str:
        return self.chat.title or f"Chat {str(self.chat.id)[:8]}"


async def load_document(db: AsyncSession, account_id: uuid.UUID, chat_id: str | uuid.UUID) -> ChatDocument:
    cid = parse_uuid(chat_id)
    chat = await repo.get_chat(db, account_id, cid) if cid else None
    if chat is None:
        raise NotFound("Session not found")
    workspace = await db.get(ChatWorkspace, chat.workspace_id) if chat.workspace_id else None
    messages = await repo.messages(db, chat.id)
    return ChatDocument(chat, workspace, messages)


def tool_call_text(value: Any) -> str:
    """A tool call's input or output as readable text (strings as they are, the rest as JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)

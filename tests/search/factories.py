"""Plain factory functions: chat workspaces, chats and messages written straight through the models."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from chasm.auth import repository as auth_repo
from chasm.kit.db import transaction
from chasm.models import Account, Chat, ChatMessage, ChatWorkspace

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def owner_account_id(app: FastAPI) -> uuid.UUID:
    async with app.state.sessionmaker() as db:
        owner = await auth_repo.first_owner(db)
        assert owner is not None
        account = await auth_repo.personal_account(db, owner.id)
        assert account is not None
        return account.id


async def other_account_id(app: FastAPI) -> uuid.UUID:
    """An account the test clients are not members of."""
    async with transaction(app.state.sessionmaker) as db:
        account = Account(name=f"other-{uuid.uuid4().hex[:8]}", kind="organization")
        db.add(account)
        await db.flush()
        return account.id


async def make_workspace(
    app: FastAPI, account_id: uuid.UUID, name: str = "project", provider: str | None = "claude_code"
) -> uuid.UUID:
    async with transaction(app.state.sessionmaker) as db:
        workspace = ChatWorkspace(
            account_id=account_id, name=name, path=f"/home/dev/{name}", provider=provider
        )
        db.add(workspace)
        await db.flush()
        return workspace.id


async def make_chat(
    app: FastAPI,
    account_id: uuid.UUID,
    messages: list[dict[str, Any]],
    *,
    title: str | None = "A chat",
    provider: str = "claude_code",
    workspace_id: uuid.UUID | None = None,
    model: str | None = "claude-sonnet-4-5-20250929",
    started_at: datetime = BASE_TIME,
    chat_tokens: dict[str, int] | None = None,
) -> uuid.UUID:
    """A chat with its messages; each message dict holds `role`, `content` and optional columns.
    Messages are a minute apart from `started_at` unless they carry `created_at`. Token totals of the
    chat are the messages' sums unless `chat_tokens` gives them (sources that only report totals)."""
    async with transaction(app.state.sessionmaker) as db:
        chat = Chat(
            account_id=account_id,
            workspace_id=workspace_id,
            provider=provider,
            source_id=uuid.uuid4().hex,
            title=title,
            model=model,
            started_at=started_at,
            updated_at=started_at + timedelta(minutes=len(messages)),
            created_at=started_at,
        )
        db.add(chat)
        await db.flush()
        totals = dict.fromkeys(
            ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0
        )
        tool_calls = 0
        for seq, spec in enumerate(messages):
            fields = {"created_at": started_at + timedelta(minutes=seq), **spec}
            if fields["role"] == "assistant" and "model" not in fields:
                fields["model"] = model
            content = fields.get("content", "")
            digest = hashlib.sha256(f"{fields['role']}\0{content}".encode()).hexdigest()
            db.add(ChatMessage(chat_id=chat.id, seq=seq, content_hash=digest, **fields))
            for key in totals:
                totals[key] += int(fields.get(key, 0))
            tool_calls += len(fields.get("tool_calls") or [])
        chat.message_count = len(messages)
        chat.tool_call_count = tool_calls
        for key, value in (chat_tokens or totals).items():
            setattr(chat, key, value)
        return chat.id

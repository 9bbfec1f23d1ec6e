"""Secrets found in the chat library (`/api/v1/secrets`, `/api/secrets`) and their redaction."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from chasm.auth.deps import ChatReader, ChatWriter
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.surface import ChatRouter
from chasm.secrets import service
from chasm.secrets.schemas import RedactRequest, RedactResult, SecretScan

routes = ChatRouter(tag=Tag.SECRETS)


@routes.get("/secrets", model=SecretScan)
async def list_secrets(
    actor: ChatReader,
    db: DbSession,
    chat_id: Annotated[uuid.UUID | None, Query(description="Only this chat")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SecretScan:
    """Secrets in stored chats (keys, tokens, private keys, passwords), masked, with chat and message."""
    return await service.scan(db, actor, chat_id, limit, offset)


@routes.post("/secrets/redact", model=RedactResult)
async def redact_secrets(actor: ChatWriter, db: DbSession, body: RedactRequest) -> RedactResult:
    """Replace the secrets in the stored messages and titles (never the tools' own files) with a marker."""
    return await service.redact(db, actor, body)

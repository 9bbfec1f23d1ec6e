"""The chat library: chat workspaces (project folders), chats (recorded conversations), their
messages, and the harvest bookkeeping that makes re-harvests incremental."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow


class ChatWorkspace(IdMixin, TimestampMixin, Base):
    """A project folder (or equivalent) whose chats were harvested or recorded."""

    __tablename__ = "chat_workspaces"
    __table_args__ = (UniqueConstraint("account_id", "path", "provider"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(2000))
    provider: Mapped[str | None] = mapped_column(String(60))  # None: several providers share it
    last_harvested: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Chat(IdMixin, TimestampMixin, Base):
    """A conversation. `source_*` identify it in the tool it was harvested from."""

    __tablename__ = "chats"
    __table_args__ = (
        UniqueConstraint("account_id", "provider", "source_id"),
        Index("ix_chats_account_updated", "account_id", "updated_at"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chat_workspaces.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(60), index=True)
    source_id: Mapped[str] = mapped_column(String(300))  # chat id in the source tool, or our own id
    source_path: Mapped[str | None] = mapped_column(String(2000))
    source_missing: Mapped[bool] = mapped_column(default=False)  # harvested file has disappeared
    parent_chat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="SET NULL"))
    parent_source_id: Mapped[str | None] = mapped_column(String(300))
    forked_from_message_id: Mapped[uuid.UUID | None]
    title: Mapped[str | None] = mapped_column(String(1000))
    title_edited: Mapped[bool] = mapped_column(default=False, server_default=false())  # set by a user: kept
    model: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    archived: Mapped[bool] = mapped_column(default=False, index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    tool_call_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata")


class ChatMessage(IdMixin, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_chat_seq", "chat_id", "seq", unique=True),
        Index("ix_chat_messages_chat_hash", "chat_id", "content_hash"),
        # Newest first in one index order (created_at, then id): search walks it (migration 0022).
        Index("ix_chat_messages_created_id", "created_at", "id"),
    )

    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # order within the chat, from 0
    role: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[str] = mapped_column(Text, default="")
    thinking: Mapped[str | None] = mapped_column(Text)
    tool_calls: Mapped[list[Any] | None]  # [{id, name, input, output, is_error}]
    # What search indexes of the tool calls (names, arguments, result excerpts): harvest/tool_text.py
    tool_text: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    source_id: Mapped[str | None] = mapped_column(String(300))
    parent_source_id: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))  # dedup of records without ids
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None]  # the source's timestamp
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata")


class HarvestFile(Base):
    """One harvested source unit and its fingerprint: unchanged units are not parsed again."""

    __tablename__ = "harvest_files"
    __table_args__ = (UniqueConstraint("account_id", "provider", "unit_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(60))
    unit_key: Mapped[str] = mapped_column(String(2000))
    fingerprint: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str | None] = mapped_column(String(64))  # hash of the first bytes: detects rewrites
    resume_offset: Mapped[int | None] = mapped_column(BigInteger)
    resume_state: Mapped[dict[str, Any] | None]
    chat_source_ids: Mapped[list[Any] | None]
    missing: Mapped[bool] = mapped_column(default=False)
    harvested_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatSettings(Base):
    """Per-account settings of the chat library (spec 001 Settings), stored as one JSON document."""

    __tablename__ = "chat_settings"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

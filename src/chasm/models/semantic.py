"""Semantic search: message chunks and their embeddings. The approximate nearest-neighbour index
(chasm.semantic.index) is a cache of this table, rebuilt from it when missing or behind."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base

# usearch keys are integers: an autoincrementing key (INTEGER PRIMARY KEY on SQLite)
ChunkKey = BigInteger().with_variant(Integer(), "sqlite")


class ChatChunk(Base):
    """A piece of one message's text and its embedding (float32, unit length) under one model."""

    __tablename__ = "chat_chunks"
    __table_args__ = (
        Index("uq_chat_chunks_message_model_part", "message_id", "model", "part", unique=True),
        Index("ix_chat_chunks_account_model_id", "account_id", "model", "id"),
    )

    id: Mapped[int] = mapped_column(ChunkKey, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    part: Mapped[int] = mapped_column(Integer)  # chunk number within the message, from 0
    model: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)

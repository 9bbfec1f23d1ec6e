"""Sync bookkeeping: for each synced chat, the version both sides agreed on at the last sync (the
base of the three-way comparison), and when the account last synced."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base


class SyncEntry(Base):
    """`sync_id` names a chat on every installation (its provider and source id, hashed); `base`
    is the tag of its version at the last sync, or `deleted` for a tombstone."""

    __tablename__ = "sync_entries"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    sync_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[uuid.UUID | None]  # the local chat (gone once deleted here)
    base: Mapped[str] = mapped_column(String(64))


class SyncStatus(Base):
    __tablename__ = "sync_status"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    location: Mapped[str] = mapped_column(String(2000))
    last_sync: Mapped[datetime]

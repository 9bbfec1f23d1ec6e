"""Platform sessions (running isolated machines) and workspaces (persistent disks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin


class Workspace(IdMixin, TimestampMixin, Base):
    """A named persistent disk, locked to one session type, owned by an account."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))  # lower-cased name: unique per account
    session_type: Mapped[str] = mapped_column(String(20))  # sandbox | browser
    image: Mapped[str | None] = mapped_column(String(300))
    template: Mapped[bool] = mapped_column(default=False)
    source_workspace_id: Mapped[uuid.UUID | None]
    github_repo: Mapped[str | None] = mapped_column(String(1000))
    assistant_home: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="ready")  # ready | importing | error | deleting
    status_detail: Mapped[str | None] = mapped_column(String(2000))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    last_session_id: Mapped[uuid.UUID | None]


class WorkspaceSnapshot(IdMixin, TimestampMixin, Base):
    __tablename__ = "workspace_snapshots"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # logical size of the tree
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # new bytes this snapshot added
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    manifest: Mapped[str] = mapped_column(String(200))  # storage reference of the snapshot


class SandboxSession(IdMixin, TimestampMixin, Base):
    """A running (or ended) isolated machine."""

    __tablename__ = "sandbox_sessions"
    __table_args__ = (
        Index("ix_sandbox_sessions_account_status", "account_id", "status"),
        Index("ix_sandbox_sessions_node_status", "node_id", "status"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL"), index=True
    )
    session_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="creating")  # creating | running | terminated
    ephemeral: Mapped[bool] = mapped_column(default=True)
    image: Mapped[str | None] = mapped_column(String(300))
    env: Mapped[dict[str, Any] | None]
    network: Mapped[dict[str, Any] | None]  # {mode, proxy:{url, username}} (password encrypted)
    github_repo: Mapped[str | None] = mapped_column(String(1000))
    driver: Mapped[str] = mapped_column(String(40), default="bubblewrap")
    # The server whose machine runs it (kit/node.py); NULL on rows older than the column.
    node_id: Mapped[str | None] = mapped_column(String(200))
    driver_state: Mapped[dict[str, Any] | None]  # SandboxInfo.state + pid, for recovery
    access_token_hash: Mapped[str | None] = mapped_column(String(64))  # per-session gateway token
    created_by: Mapped[str | None] = mapped_column(String(64))
    last_activity_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    # requested | idle_timeout | max_lifetime | out_of_memory | error | server_restart

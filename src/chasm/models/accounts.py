from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin

ROLES = ("owner", "admin", "member")


class Account(IdMixin, TimestampMixin, Base):
    """A personal account (one per user) or an organisation; every resource belongs to one."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # personal | organization
    personal_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # New accounts (registration, OAuth sign-up, organizations) get the lowest plan; the
    # bootstrap owner's is "paid" (accounts/quotas.py has each plan's quotas).
    plan: Mapped[str] = mapped_column(String(40), default="free")


class Membership(TimestampMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("account_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))


class ServiceAccount(IdMixin, TimestampMixin, Base):
    __tablename__ = "service_accounts"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

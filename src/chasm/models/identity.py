"""Login state: refresh tokens, linked OAuth identities, pending OAuth flows, Codex credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow


class RefreshToken(IdMixin, TimestampMixin, Base):
    """One refresh token; rotation keeps a family so that reuse of a rotated token revokes all of it."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    rotated_at: Mapped[datetime | None]


class OAuthIdentity(IdMixin, TimestampMixin, Base):
    """A user's identity at an external provider (Google, GitHub)."""

    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    last_login_at: Mapped[datetime | None]


class OAuthState(IdMixin, TimestampMixin, Base):
    """A pending authorization: the state sent to the provider and the PKCE verifier kept here."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(128), unique=True)
    provider: Mapped[str] = mapped_column(String(40))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]


class CodexCredential(IdMixin, TimestampMixin, Base):
    """A user's OpenAI Codex login; every token is encrypted with the server secret."""

    __tablename__ = "codex_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    account_email: Mapped[str | None] = mapped_column(String(320))
    openai_account_id: Mapped[str | None] = mapped_column(String(200))
    access_token_enc: Mapped[str] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    id_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invite(IdMixin, TimestampMixin, Base):
    """A single-use invitation code for registration in `invite` mode; only its hash is kept."""

    __tablename__ = "invites"

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

"""Model providers an account configured: an LLM API (OpenAI, Anthropic, an OpenAI-compatible
server) with its credentials sealed at rest."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin
from chasm.kit.timeutil import utcnow


class ModelProvider(IdMixin, TimestampMixin, Base):
    __tablename__ = "model_providers"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # routing name: "name/model"
    type: Mapped[str] = mapped_column(String(20))  # openai, anthropic, ollama, lm-studio, custom
    base_url: Mapped[str | None] = mapped_column(String(2000))  # None: the SDK's default
    # Encrypted with a key derived from the server secret and the account (providers.service.box)
    api_key_sealed: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    default_model: Mapped[str | None] = mapped_column(String(200))
    models: Mapped[list[Any]] = mapped_column(default=list)  # the models it offers, as configured
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

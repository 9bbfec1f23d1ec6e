from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    email_verified: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # An administrator of the installation (host-side harvest, server upkeep), not only of accounts.
    is_instance_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_login_at: Mapped[datetime | None]

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from chasm.kit.db import Base, TimestampMixin


class InstanceFact(TimestampMixin, Base):
    """A value every server of the installation must agree on (e.g. which secret the data was made
    with), written by the first server to start on the database."""

    __tablename__ = "instance_facts"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))

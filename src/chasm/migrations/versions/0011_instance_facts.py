"""instance facts

A small table of values every server of one installation must agree on. The first is a
fingerprint of the server secret (HMAC of a constant): a server started with another secret than
the one the database's API keys, tokens and stored credentials were made with refuses to start,
instead of rejecting every key.

Revision ID: 0011_instance_facts
Revises: 0001
Create Date: 2026-12-06 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chasm.kit.db

revision: str = "0011_instance_facts"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_facts",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("created_at", chasm.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_facts")),
    )


def downgrade() -> None:
    op.drop_table("instance_facts")

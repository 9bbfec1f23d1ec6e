"""sync bookkeeping

Per synced chat, the version agreed at the last sync (three-way comparison base); per account,
the last sync.

Revision ID: 0016_sync
Revises: 0013_recording
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chasm.kit.db

revision: str = "0016_sync"
down_revision: str | Sequence[str] | None = "0013_recording"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_entries",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("sync_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=True),
        sa.Column("base", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "sync_id", name=op.f("pk_sync_entries")),
    )
    op.create_table(
        "sync_status",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("location", sa.String(length=2000), nullable=False),
        sa.Column("last_sync", chasm.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_status_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sync_status")),
    )


def downgrade() -> None:
    op.drop_table("sync_status")
    op.drop_table("sync_entries")

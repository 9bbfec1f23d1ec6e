"""Messages indexed newest first with their id: (created_at, id) replaces (created_at)

PostgreSQL search ranks the 1,000 most recent matches, in the order created_at DESC, id DESC. With
the index on created_at alone the walk had to sort every message sharing a timestamp before it
could stop, and a harvested library shares many: one of 62,056 messages held 11,014 without a
timestamp and groups of 3,782 on one instant, so the walk read every message (100 ms for a common
word under a provider filter). With the id in the index the walk stops at the 1,000th match (8 ms).
The composite index serves every use of the old one.

Revision ID: 0022_message_time_index
Revises: 0021_fts_ascii_guard
Create Date: 2026-12-06 18:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_message_time_index"
down_revision: str | Sequence[str] | None = "0021_fts_ascii_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_chat_messages_created_id ON chat_messages (created_at, id)")
    op.execute("DROP INDEX IF EXISTS ix_chat_messages_created_at")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_chat_messages_created_at ON chat_messages (created_at)")
    op.execute("DROP INDEX IF EXISTS ix_chat_messages_created_id")

"""chat title edited flag

A title set through the API is the user's: a later harvest of the chat's source keeps it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:17:00.402392
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch table copy on SQLite would drop the FTS triggers of 0006.
    op.add_column("chats", sa.Column("title_edited", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute("ALTER TABLE chats DROP COLUMN title_edited")  # SQLite 3.35+, PostgreSQL

"""semantic search chunks

Message chunks and their embeddings; the nearest-neighbour index is rebuilt from this table.

Revision ID: 0017_semantic
Revises: 0013_recording
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_semantic"
down_revision: str | Sequence[str] | None = "0013_recording"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_chunks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_chat_chunks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_chat_chunks_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_messages.id"],
            name=op.f("fk_chat_chunks_message_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_chunks")),
    )
    op.create_index(
        "uq_chat_chunks_message_model_part", "chat_chunks", ["message_id", "model", "part"], unique=True
    )
    op.create_index("ix_chat_chunks_account_model_id", "chat_chunks", ["account_id", "model", "id"])
    op.create_index(op.f("ix_chat_chunks_chat_id"), "chat_chunks", ["chat_id"])


def downgrade() -> None:
    op.drop_table("chat_chunks")

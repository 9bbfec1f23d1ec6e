"""recording sessions and events

Spec 003's recording API: a session a client streams events into, stored as a chat of the
library, and every event as received (ordered by seq, unique by the client's event id).

Revision ID: 0013_recording
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import chasm.kit.db

revision: str = "0013_recording"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STAMP = chasm.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recording_sessions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.String(length=300), nullable=False),
        sa.Column("client", sa.String(length=60), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("ended_at", STAMP, nullable=True),
        sa.Column("recovered_at", STAMP, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recording_sessions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_recording_sessions_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_sessions")),
        sa.UniqueConstraint("account_id", "session_id", name=op.f("uq_recording_sessions_account_id")),
    )
    with op.batch_alter_table("recording_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_sessions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_sessions_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_sessions_state"), ["state"], unique=False)
    op.create_table(
        "recording_events",
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", STAMP, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recording_sessions.id"],
            name=op.f("fk_recording_events_recording_id_recording_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_events")),
        sa.UniqueConstraint("recording_id", "seq", name="uq_recording_events_seq"),
        sa.UniqueConstraint("recording_id", "event_id", name="uq_recording_events_event_id"),
    )


def downgrade() -> None:
    op.drop_table("recording_events")
    with op.batch_alter_table("recording_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_sessions_state"))
        batch_op.drop_index(batch_op.f("ix_recording_sessions_chat_id"))
        batch_op.drop_index(batch_op.f("ix_recording_sessions_account_id"))
    op.drop_table("recording_sessions")

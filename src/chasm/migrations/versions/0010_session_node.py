"""session node

Each sandbox session row names the server (node) whose machine runs it, so that servers sharing a
database recover, reap and stop only their own sessions, and a request for another node's session
is answered with that node's name. Rows of earlier versions keep NULL: any node treats them as its
own (one host before the upgrade).

Revision ID: 0010_session_node
Revises: 0005
Create Date: 2026-12-06 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_session_node"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node_id", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_sandbox_sessions_node_status", ["node_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_sessions_node_status")
        batch_op.drop_column("node_id")

"""an agent's sandbox network

An agent's sandbox is started with the agent's `network` (`none`, the default, or `direct`); the
`web_fetch` tool is offered to its model only when that network is not `none`.

Revision ID: 0019_agent_network
Revises: 0015_agents
Create Date: 2026-12-06 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_agent_network"
down_revision: str | Sequence[str] | None = "0015_agents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("network", sa.String(length=20), server_default="none", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("network")

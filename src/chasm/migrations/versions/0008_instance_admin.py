"""instance admin flag

Host-side discovery (harvest of the server's folders, harvest roots, vacuum, cache clearing) belongs
to the installation's administrators, not to every account owner. The first user of an existing
installation (the local owner made by the first start) becomes one.

Revision ID: 0008_instance_admin
Revises: 0007
Create Date: 2026-12-06 02:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_instance_admin"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("is_instance_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime()),
        sa.column("is_instance_admin", sa.Boolean()),
    )
    first = sa.select(users.c.id).order_by(users.c.created_at).limit(1).scalar_subquery()
    op.execute(users.update().where(users.c.id == first).values(is_instance_admin=True))


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN is_instance_admin")  # SQLite 3.35+, PostgreSQL

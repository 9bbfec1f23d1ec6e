"""model providers

LLM APIs an account configured (OpenAI, Anthropic, OpenAI-compatible servers), their API keys
sealed at rest.

Revision ID: 0014_providers
Revises: 0013_recording
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import chasm.kit.db

revision: str = "0014_providers"
down_revision: str | Sequence[str] | None = "0013_recording"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STAMP = chasm.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_providers",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("base_url", sa.String(length=2000), nullable=True),
        sa.Column("api_key_sealed", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("default_model", sa.String(length=200), nullable=True),
        sa.Column("models", JSON, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_model_providers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_providers")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_model_providers_account_id")),
    )
    with op.batch_alter_table("model_providers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_providers_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_providers_account_id"))
    op.drop_table("model_providers")

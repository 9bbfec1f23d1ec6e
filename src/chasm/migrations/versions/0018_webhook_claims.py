"""webhook claims and Stripe subscriptions

A webhook endpoint's queue is drained by one dispatcher at a time: the dispatcher claims the
endpoint with a lease (`lease_owner`, `lease_until`) in one atomic UPDATE, so servers sharing a
database never send the same delivery twice and each endpoint keeps its order. A billing profile
remembers the Stripe subscription paying its plan (`stripe_subscription_id`, `subscription_plan`)
and how far the last paid invoice carries it (`paid_until`).

Revision ID: 0018_webhook_claims
Revises: 0011_webhooks_billing
Create Date: 2026-12-06 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chasm.kit.db

revision: str = "0018_webhook_claims"
down_revision: str | Sequence[str] | None = "0011_webhooks_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("lease_until", chasm.kit.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("billing_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripe_subscription_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("subscription_plan", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("paid_until", chasm.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_billing_profiles_stripe_subscription_id", ["stripe_subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_profiles_stripe_subscription_id")
        batch_op.drop_column("paid_until")
        batch_op.drop_column("subscription_plan")
        batch_op.drop_column("stripe_subscription_id")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")

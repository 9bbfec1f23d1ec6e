"""chasm_match_estimate(tsquery): the planner's estimate of a query's matching messages (PostgreSQL)

PostgreSQL search picks how to read a query's candidates (the GIN bitmap or the newest-first walk)
from the planner's estimate of its matches, which it asked for with an `EXPLAIN` of its own: a
round trip of its own before the ranking statement. The function runs that `EXPLAIN` inside the
statement that already probes the accounts, so a search costs one round trip less. The query is a
parameter of the `EXPLAIN` (EXECUTE ... USING), which the planner estimates by its value, as it
did the search's own. VOLATILE: PostgreSQL runs an EXPLAIN only in a volatile function. SQLite is
unchanged.

Revision ID: 0023_match_estimate
Revises: 0022_message_time_index
Create Date: 2026-12-06 20:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_match_estimate"
down_revision: str | Sequence[str] | None = "0022_message_time_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ESTIMATE = """CREATE OR REPLACE FUNCTION chasm_match_estimate(q tsquery) RETURNS double precision
LANGUAGE plpgsql VOLATILE AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM chat_messages WHERE search_vector @@ $1' INTO plan USING q;
  RETURN (plan->0->'Plan'->>'Plan Rows')::double precision;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ESTIMATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS chasm_match_estimate(tsquery)")

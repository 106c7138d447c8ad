"""PostgreSQL: plan every prepared statement for the values it is given.

Requests that only read now end with COMMIT (infra/db.end_reads), so psycopg's prepared
statements outlive a request. After five runs PostgreSQL may switch a prepared
statement to a generic plan, made without the values: on the city the members list's
guessed one row for "this bank, not pending" and took 42 ms against 1. Custom plans
keep what preparing saves (parsing) without that risk. Set on the database, so it holds
for every connection, through PgBouncer too; a role that may not alter the database
gets a notice, and the setting is the operator's to make (docs/scaling.md).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 06:12:00
"""
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

_SET = """
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I {what}', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'plan_cache_mode left as it is: this role may not alter the database';
END $$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(what="SET plan_cache_mode = force_custom_plan"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(what="RESET plan_cache_mode"))

"""Index what was done to each member: a data download's "about you" and activity log,
and erasure, looked them up by reading every member's trail.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 05:37:54.466223

"""
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Built without holding up the writes: nearly every change adds an audit row, and
        # a large trail takes a while to index.
        with op.get_context().autocommit_block():
            op.create_index('ix_audit_event_object', 'audit_event',
                            ['object_type', 'object_id'], postgresql_concurrently=True,
                            if_not_exists=True)
        return
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_object')

"""a bank's memberships by status from one index

The coordinator's members list counts a bank's members by status and lists its
applications; a composite (bank_id, status) index answers both without reading
every membership, and replaces the single-column bank_id index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 02:40:00

"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_bank_id')
        batch_op.create_index('ix_membership_bank_status', ['bank_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_bank_status')
        batch_op.create_index('ix_membership_bank_id', ['bank_id'], unique=False)

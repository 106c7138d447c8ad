"""a member's unread notifications from one index

Every page a member sees counts their unread notifications for the menu's badge; a
busy member has thousands. An index on (member_id, read_at, bank_id) counts the
unread ones (of this bank or the whole site) without reading any row.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 09:20:00

"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_member_unread',
                              ['member_id', 'read_at', 'bank_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_member_unread')

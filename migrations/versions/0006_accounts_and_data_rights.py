"""accounts and data rights

E-mail verification, consent to share contact details, erasure requests, and each
bank's terms and privacy notice accepted at registration.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 18:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('share_contact', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('erasure_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    # Members from before verification existed were checked by their coordinators.
    op.execute("UPDATE member SET email_verified_at = created_at")
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms_text', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('privacy_text', sa.Text(), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms_accepted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('terms_accepted_at')
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.drop_column('privacy_text')
        batch_op.drop_column('terms_text')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('erasure_requested_at')
        batch_op.drop_column('share_contact')
        batch_op.drop_column('email_verified_at')

"""four eyes: requests a second coordinator agrees to; the community pool's range

A log-in given to an enrolled member, a limit below the bank's, and a large payment from
the pool wait in ``approval`` for a second coordinator. The pool gets a floor, a cap and
the most one coordinator pays from it alone.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['bank_id'], ['bank.id']),
        sa.ForeignKeyConstraint(['member_id'], ['member.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['member.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['member.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index('ix_approval_bank_id', ['bank_id'], unique=False)
        batch_op.create_index('ix_approval_member_id', ['member_id'], unique=False)
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool_floor', sa.BigInteger(), server_default='-30000',
                                      nullable=False))
        batch_op.add_column(sa.Column('pool_cap', sa.BigInteger(), server_default='30000',
                                      nullable=False))
        batch_op.add_column(sa.Column('pool_alone_minutes', sa.BigInteger(),
                                      server_default='1200', nullable=False))


def downgrade():
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.drop_column('pool_alone_minutes')
        batch_op.drop_column('pool_cap')
        batch_op.drop_column('pool_floor')
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_member_id')
        batch_op.drop_index('ix_approval_bank_id')
    op.drop_table('approval')

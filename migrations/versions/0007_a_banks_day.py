"""a bank's day

Members respond to offers (a match about an offer has no request); exchanges keep
the match they came from; members enrolled without e-mail; the reason a membership
was suspended or declined; the address change waiting for confirmation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_match_offer_id'), ['offer_id'], unique=False)
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_exchange_match_id'), ['match_id'], unique=False)
        batch_op.create_foreign_key('fk_exchange_match_id_match', 'match', ['match_id'], ['id'])
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column('pending_email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('pending_email')
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_constraint('fk_exchange_match_id_match', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_exchange_match_id'))
        batch_op.drop_column('match_id')
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_offer_id'))
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=False)

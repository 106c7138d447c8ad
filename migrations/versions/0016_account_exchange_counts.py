"""each account's number of exchanges given and received, all time

Kept by the ledger beside the minutes given and received (counted exchanges only:
corrections taken off), so a member's record of taking part reads one row per
account instead of counting a busy member's thousands of exchanges on every view.
Filled here from the exchanges already recorded.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 08:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exchanges_given', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('exchanges_received', sa.Integer(), server_default='0',
                                      nullable=False))
    bind = op.get_bind()
    meta = sa.MetaData()
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    account = sa.Table('account', meta, autoload_with=bind)
    reversal = exchange.alias('reversal')
    counted = sa.and_(exchange.c.status == 'confirmed', exchange.c.reverses_id.is_(None),
                      ~sa.exists().where(reversal.c.reverses_id == exchange.c.id))
    for side, column in ((exchange.c.giver_account_id, 'exchanges_given'),
                         (exchange.c.receiver_account_id, 'exchanges_received')):
        rows = [{'a': a, 'n': int(n)} for a, n in bind.execute(
            sa.select(side, sa.func.count()).where(counted).group_by(side))]
        if rows:
            bind.execute(account.update().where(account.c.id == sa.bindparam('a'))
                         .values({column: sa.bindparam('n')}), rows)


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('exchanges_received')
        batch_op.drop_column('exchanges_given')

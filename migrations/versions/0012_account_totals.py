"""each account's minutes given and received, all time; members in name order

Kept by the ledger beside the balance (counted exchanges only: corrections taken off),
so the matching workbench reads one row per member instead of summing every entry.
Filled here from the exchanges already recorded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('received', sa.BigInteger(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index('ix_member_display_name_id', ['display_name', 'id'], unique=False)
    bind = op.get_bind()
    meta = sa.MetaData()
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    account = sa.Table('account', meta, autoload_with=bind)
    reversal = exchange.alias('reversal')
    counted = sa.and_(exchange.c.status == 'confirmed', exchange.c.reverses_id.is_(None),
                      ~sa.exists().where(reversal.c.reverses_id == exchange.c.id))
    for side, column in ((exchange.c.giver_account_id, 'given'),
                         (exchange.c.receiver_account_id, 'received')):
        rows = [{'a': a, 'm': int(m)} for a, m in bind.execute(
            sa.select(side, sa.func.sum(exchange.c.minutes)).where(counted).group_by(side))]
        if rows:
            bind.execute(account.update().where(account.c.id == sa.bindparam('a'))
                         .values({column: sa.bindparam('m')}), rows)


def downgrade():
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ix_member_display_name_id')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('received')
        batch_op.drop_column('given')

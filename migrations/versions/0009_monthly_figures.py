"""monthly figures for reports

The ledger keeps, beside the entries, counted exchanges and outcome answers per month
of service, bank pair and kind of help, and each account's running totals given and
received per month, so that reports over years of history read a few rows; and when an
exchange last named each account. Filled here from the exchanges already recorded.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:00:00

"""
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KEY = ('month', 'bank_id', 'counter_bank_id', 'category_id')


def upgrade():
    month_total = op.create_table(
        'month_total',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('counter_bank_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('exchanges', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_month_total')),
        sa.UniqueConstraint(*KEY, name='uq_month_total'),
    )
    outcome_month = op.create_table(
        'outcome_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('counter_bank_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('answers', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_month')),
        sa.UniqueConstraint(*KEY, 'score', name='uq_outcome_month'),
    )
    account_month = op.create_table(
        'account_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('given', sa.BigInteger(), nullable=False),
        sa.Column('received', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_account_month_account_id_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_month')),
        sa.UniqueConstraint('account_id', 'month', name='uq_account_month'),
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_exchange_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_created_at'), ['created_at'], unique=False)
    _fill(month_total, outcome_month, account_month)


def _fill(month_total, outcome_month, account_month):
    """From the exchanges already recorded, by the rule the ledger keeps from now on:
    confirmed, neither a reversal nor reversed, by month of service."""
    bind = op.get_bind()
    meta = sa.MetaData()
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    outcome = sa.Table('outcome', meta, autoload_with=bind)
    account = sa.Table('account', meta, autoload_with=bind)
    reversal = exchange.alias('reversal')
    counted = sa.and_(exchange.c.status == 'confirmed', exchange.c.reverses_id.is_(None),
                      ~sa.exists().where(reversal.c.reverses_id == exchange.c.id))
    year = sa.extract('year', exchange.c.service_date)
    month = sa.extract('month', exchange.c.service_date)
    key = (exchange.c.bank_id, sa.func.coalesce(exchange.c.counter_bank_id, 0),
           sa.func.coalesce(exchange.c.category_id, 0))
    rows = [dict(zip(KEY, (date(int(y), int(m), 1), b, c, k), strict=True))
            | {'exchanges': int(n), 'minutes': int(minutes)}
            for y, m, b, c, k, n, minutes in bind.execute(
                sa.select(year, month, *key, sa.func.count(), sa.func.sum(exchange.c.minutes))
                .where(counted).group_by(year, month, *key))]
    if rows:
        bind.execute(month_total.insert(), rows)
    rows = [dict(zip((*KEY, 'score'), (date(int(y), int(m), 1), b, c, k, s), strict=True))
            | {'answers': int(n)}
            for y, m, b, c, k, s, n in bind.execute(
                sa.select(year, month, *key, outcome.c.score, sa.func.count())
                .join(outcome, outcome.c.exchange_id == exchange.c.id)
                .where(counted).group_by(year, month, *key, outcome.c.score))]
    if rows:
        bind.execute(outcome_month.insert(), rows)
    moved = defaultdict(lambda: [0, 0])
    for side, index in ((exchange.c.giver_account_id, 0), (exchange.c.receiver_account_id, 1)):
        for account_id, y, m, minutes in bind.execute(
                sa.select(side, year, month, sa.func.sum(exchange.c.minutes))
                .where(counted).group_by(side, year, month)):
            moved[(account_id, date(int(y), int(m), 1))][index] += int(minutes)
    rows, running = [], {}
    for (account_id, first_day), (given, received) in sorted(moved.items()):
        before = running.get(account_id, (0, 0))
        running[account_id] = (before[0] + given, before[1] + received)
        rows.append({'account_id': account_id, 'month': first_day,
                     'given': running[account_id][0], 'received': running[account_id][1]})
    for offset in range(0, len(rows), 5000):
        bind.execute(account_month.insert(), rows[offset:offset + 5000])
    for side in (exchange.c.giver_account_id, exchange.c.receiver_account_id):
        last = (sa.select(sa.func.max(exchange.c.created_at)).where(side == account.c.id)
                .scalar_subquery())
        bind.execute(account.update().values(last_exchange_at=sa.func.coalesce(
            sa.case((last > account.c.last_exchange_at, last),
                    else_=account.c.last_exchange_at), last)))


def downgrade():
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_created_at'))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('last_exchange_at')
    op.drop_table('account_month')
    op.drop_table('outcome_month')
    op.drop_table('month_total')

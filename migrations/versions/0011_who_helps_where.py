"""where help was received and who helps with what

Each exchange keeps, from its confirmation on, the named area its receiver lived in and
the kind of help its receiver had given most hours in; the monthly figures are kept by
them too, so reports can filter and group by neighbourhood and show who helps with
what. For exchanges confirmed before this revision both facts are taken from today's
profiles and history (the best that can be known now); from here on the ledger fixes
them at confirmation.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 00:10:00

"""
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BASE = ('month', 'bank_id', 'counter_bank_id', 'category_id')


def _counted(exchange):
    """The ledger's rule: confirmed, and neither a reversal nor reversed (written here, as
    a migration must not depend on the code of later releases)."""
    reversal = exchange.alias('reversal')
    return sa.and_(exchange.c.status == 'confirmed', exchange.c.reverses_id.is_(None),
                   ~sa.exists().where(reversal.c.reverses_id == exchange.c.id))


def _tables(with_area: bool):
    """The two monthly-figure tables, with or without the new dimensions."""
    extra = ('area_id',) if with_area else ()
    totals = op.create_table(
        'month_total',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('counter_bank_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        *([sa.Column('area_id', sa.Integer(), nullable=False),
           sa.Column('gives_id', sa.Integer(), nullable=False)] if with_area else []),
        sa.Column('exchanges', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_month_total')),
        sa.UniqueConstraint(*BASE, *extra, *(('gives_id',) if with_area else ()),
                            name='uq_month_total'),
    )
    outcomes = op.create_table(
        'outcome_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('counter_bank_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        *([sa.Column('area_id', sa.Integer(), nullable=False)] if with_area else []),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('answers', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_month')),
        sa.UniqueConstraint(*BASE, *extra, 'score', name='uq_outcome_month'),
    )
    return totals, outcomes


def _fill(totals, outcomes, with_area: bool):
    """From the exchanges, by the ledger's rule: confirmed, neither a reversal nor
    reversed, by month of service."""
    bind = op.get_bind()
    meta = sa.MetaData()
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    outcome = sa.Table('outcome', meta, autoload_with=bind)
    counted = _counted(exchange)
    year = sa.extract('year', exchange.c.service_date)
    month = sa.extract('month', exchange.c.service_date)
    key = [exchange.c.bank_id, sa.func.coalesce(exchange.c.counter_bank_id, 0),
           sa.func.coalesce(exchange.c.category_id, 0)]
    names = list(BASE)
    if with_area:
        key.append(sa.func.coalesce(exchange.c.area_id, 0))
        names.append('area_id')
    total_key = [*key, sa.func.coalesce(exchange.c.receiver_gives_id, 0)] if with_area else key
    total_names = [*names, 'gives_id'] if with_area else names
    rows = [dict(zip(total_names, (date(int(y), int(m), 1), *rest), strict=True))
            | {'exchanges': int(n), 'minutes': int(minutes)}
            for y, m, *rest, n, minutes in bind.execute(
                sa.select(year, month, *total_key, sa.func.count(),
                          sa.func.sum(exchange.c.minutes))
                .where(counted).group_by(year, month, *total_key))]
    for offset in range(0, len(rows), 5000):
        bind.execute(totals.insert(), rows[offset:offset + 5000])
    rows = [dict(zip((*names, 'score'), (date(int(y), int(m), 1), *rest), strict=True))
            | {'answers': int(n)}
            for y, m, *rest, n in bind.execute(
                sa.select(year, month, *key, outcome.c.score, sa.func.count())
                .join(outcome, outcome.c.exchange_id == exchange.c.id)
                .where(counted).group_by(year, month, *key, outcome.c.score))]
    for offset in range(0, len(rows), 5000):
        bind.execute(outcomes.insert(), rows[offset:offset + 5000])


def _describe_history():
    """Fill the two new facts of the exchanges already confirmed, from today's data."""
    bind = op.get_bind()
    meta = sa.MetaData()
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    account = sa.Table('account', meta, autoload_with=bind)
    member = sa.Table('member', meta, autoload_with=bind)
    area = sa.Table('neighbourhood', meta, autoload_with=bind)

    def key(column):
        return sa.func.lower(sa.func.trim(column))

    named = (sa.select(area.c.id).select_from(member.join(account,
                                                          account.c.member_id == member.c.id))
             .where(account.c.id == exchange.c.receiver_account_id,
                    key(area.c.name) == key(member.c.neighbourhood))
             .order_by(area.c.id).limit(1).scalar_subquery())
    bind.execute(exchange.update().where(exchange.c.status == 'confirmed')
                 .values(area_id=named))
    given = defaultdict(dict)
    counted = _counted(exchange)
    for account_id, kind, minutes in bind.execute(
            sa.select(exchange.c.giver_account_id, exchange.c.category_id,
                      sa.func.sum(exchange.c.minutes))
            .where(counted, exchange.c.category_id.is_not(None))
            .group_by(exchange.c.giver_account_id, exchange.c.category_id)):
        given[account_id][kind] = int(minutes)
    main = [{'a': a, 'k': min(kinds, key=lambda k: (-kinds[k], k))}
            for a, kinds in given.items()]
    if main:
        bind.execute(exchange.update()
                     .where(exchange.c.receiver_account_id == sa.bindparam('a'),
                            exchange.c.status == 'confirmed')
                     .values(receiver_gives_id=sa.bindparam('k')), main)


def upgrade():
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('receiver_gives_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_exchange_area_id_neighbourhood'),
                                    'neighbourhood', ['area_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_exchange_receiver_gives_id_category'),
                                    'category', ['receiver_gives_id'], ['id'])
    _describe_history()
    op.drop_table('month_total')
    op.drop_table('outcome_month')
    _fill(*_tables(with_area=True), with_area=True)


def downgrade():
    op.drop_table('month_total')
    op.drop_table('outcome_month')
    _fill(*_tables(with_area=False), with_area=False)
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exchange_receiver_gives_id_category'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_exchange_area_id_neighbourhood'),
                                 type_='foreignkey')
        batch_op.drop_column('receiver_gives_id')
        batch_op.drop_column('area_id')

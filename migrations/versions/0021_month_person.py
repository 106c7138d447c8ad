"""who stands behind the monthly figures: distinct people per cell

Council figures are hidden when they are about fewer than five people, not fewer than
five exchanges or answers. ``month_person`` keeps each member's account once per month
and cell (gave, received, answered), filled here from the counted exchanges.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 09:00:00

"""
import datetime
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'month_person',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('counter_bank_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('gives_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=1), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('month', 'bank_id', 'counter_bank_id', 'category_id', 'area_id',
                            'gives_id', 'score', 'role', 'account_id', name='uq_month_person'),
    )
    bind = op.get_bind()
    members = {row[0] for row in bind.execute(sa.text(
        "SELECT id FROM account WHERE kind = 'member'"))}
    counted = ("e.status = 'confirmed' AND e.reverses_id IS NULL AND NOT EXISTS "
               "(SELECT 1 FROM exchange r WHERE r.reverses_id = e.id)")
    found = defaultdict(int)
    for row in bind.execute(sa.text(
            "SELECT e.service_date, e.bank_id, e.counter_bank_id, e.category_id, e.area_id, "
            "e.receiver_gives_id, e.giver_account_id, e.receiver_account_id, o.score "
            f"FROM exchange e LEFT JOIN outcome o ON o.exchange_id = e.id WHERE {counted}")):
        day, bank, counter, kind, area, gives, giver, receiver, score = row
        if isinstance(day, str):  # (SQLite, read as text here)
            day = datetime.date.fromisoformat(day[:10])
        cell = (day.replace(day=1), bank, counter or 0, kind or 0, area or 0)
        for role, account in (("g", giver), ("r", receiver)):
            if account in members:
                found[(*cell, gives or 0, 0, role, account)] += 1
        if score is not None and receiver in members:
            found[(*cell, 0, score, "o", receiver)] += 1
    names = ('month', 'bank_id', 'counter_bank_id', 'category_id', 'area_id', 'gives_id',
             'score', 'role', 'account_id')
    rows = [{**dict(zip(names, key)), 'events': n} for key, n in found.items()]
    for offset in range(0, len(rows), 5000):
        op.bulk_insert(table, rows[offset:offset + 5000])


def downgrade():
    op.drop_table('month_person')

"""statements and a bank's exchanges read from indexes

Entries carry their exchange's date of service, so a statement is an index range
however long the history; a bank's exchanges newest first and what waits on a giver
get composite indexes in place of single-column ones.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 00:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_date', sa.Date(), nullable=True))
    bind = op.get_bind()
    meta = sa.MetaData()
    entry = sa.Table('entry', meta, autoload_with=bind)
    exchange = sa.Table('exchange', meta, autoload_with=bind)
    bind.execute(entry.update().values(service_date=sa.select(exchange.c.service_date).where(
        exchange.c.id == entry.c.exchange_id).scalar_subquery()))
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.alter_column('service_date', existing_type=sa.Date(), nullable=False)
        batch_op.drop_index('ix_entry_account_id')
        batch_op.create_index('ix_entry_account_service', ['account_id', 'service_date', 'id'],
                              unique=False)
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_bank_id')
        batch_op.drop_index('ix_exchange_counter_bank_id')
        batch_op.drop_index('ix_exchange_giver_account_id')
        batch_op.create_index('ix_exchange_bank_id_id', ['bank_id', 'id'], unique=False)
        batch_op.create_index('ix_exchange_counter_bank_id_id', ['counter_bank_id', 'id'],
                              unique=False)
        batch_op.create_index('ix_exchange_giver_status', ['giver_account_id', 'status'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_giver_status')
        batch_op.drop_index('ix_exchange_counter_bank_id_id')
        batch_op.drop_index('ix_exchange_bank_id_id')
        batch_op.create_index('ix_exchange_giver_account_id', ['giver_account_id'], unique=False)
        batch_op.create_index('ix_exchange_counter_bank_id', ['counter_bank_id'], unique=False)
        batch_op.create_index('ix_exchange_bank_id', ['bank_id'], unique=False)
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_account_service')
        batch_op.create_index('ix_entry_account_id', ['account_id'], unique=False)
        batch_op.drop_column('service_date')

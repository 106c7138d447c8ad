"""names of kinds of help and of asset in each language; a bank's English dates

Each kind keeps its English name and gains ``names``, the names an admin gives it in the
other languages ({"cy": ..., "es": ...}); the seeded names are translated by the
catalogues, so nothing needs filling in for them. A bank says how its English dates read
(``english_dates``: en_GB by default, so a UK bank writes 6 December 2026).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('category', 'asset_category'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('names', sa.JSON(), server_default='{}',
                                          nullable=False))
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.add_column(sa.Column('english_dates', sa.String(length=10),
                                      server_default='en_GB', nullable=False))


def downgrade():
    with op.batch_alter_table('bank', schema=None) as batch_op:
        batch_op.drop_column('english_dates')
    for table in ('asset_category', 'category'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('names')

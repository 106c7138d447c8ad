"""versions of the data that caches are built from

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 01:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'data_version',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_data_version')),
    )
    # A random start: no worker can hold a cached copy under this number already.
    op.bulk_insert(table, [{'name': 'register', 'version': secrets.randbelow(2**52) + 1}])


def downgrade():
    op.drop_table('data_version')

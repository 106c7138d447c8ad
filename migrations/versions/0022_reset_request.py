"""forgotten-password requests, answered by the mail job

The page writes one row whether or not anyone has the address, so its timing gives no
member away; the mail job sends the link to members and forgets the request.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reset_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('reset_request')

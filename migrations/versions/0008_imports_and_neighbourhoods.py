"""asset imports and neighbourhoods

Each file imported (with its per-row report, kept to archive what it created), named
areas from boundary files, and members' consent to show contact details in the directory.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'asset_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('report', sa.Text(), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['by_id'], ['member.id'], name=op.f('fk_asset_import_by_id_member')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_import')),
    )
    with op.batch_alter_table('asset_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_import_created_at'), ['created_at'],
                              unique=False)
    op.create_table(
        'neighbourhood',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('geometry', sa.Text(), nullable=False),
        sa.Column('min_lon', sa.Float(), nullable=False),
        sa.Column('min_lat', sa.Float(), nullable=False),
        sa.Column('max_lon', sa.Float(), nullable=False),
        sa.Column('max_lat', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_neighbourhood')),
        sa.UniqueConstraint('name', name=op.f('uq_neighbourhood_name')),
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('directory_contact', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_asset_import_id'), ['import_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_asset_import_id_asset_import'),
                                    'asset_import', ['import_id'], ['id'])


def downgrade():
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_asset_import_id_asset_import'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_asset_import_id'))
        batch_op.drop_column('import_id')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('directory_contact')
    op.drop_table('neighbourhood')
    with op.batch_alter_table('asset_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_import_created_at'))
    op.drop_table('asset_import')

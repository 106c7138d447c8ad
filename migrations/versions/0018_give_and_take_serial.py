"""what moved in a bank's give and take since the workbench last looked

A data version counts its moves (``serial``, in commit order) beside its random number,
and each account is stamped with the serial of the commit that last moved its totals,
so the matching workbench reads again only the accounts an exchange moved, not all of
a city's 20,000. ``epoch`` changes when the stamps cannot tell (a full read follows).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 11:40:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('epoch', sa.BigInteger(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved_serial', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.create_index('ix_account_bank_moved', ['bank_id', 'moved_serial'],
                              unique=False)
    # A new epoch for the versions there are: the count starts here, and a backup from
    # before it, restored and upgraded, never meets a worker's cache of another history.
    op.execute(sa.text("UPDATE data_version SET epoch = :epoch").bindparams(
        epoch=secrets.randbelow(2**52) + 1))


def downgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_bank_moved')
        batch_op.drop_column('moved_serial')
    with op.batch_alter_table('data_version', schema=None) as batch_op:
        batch_op.drop_column('epoch')
        batch_op.drop_column('serial')

"""ideas and co-design sessions

Co-design: residents' ideas for the area, their supporters and ratings, comments, the
proposer's earlier versions, the public answers given to them, and the sessions banks
run about them (who signed up, who came).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _pk(table):
    return sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}'))


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade():
    op.create_table(
        'idea',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('need', sa.Text(), nullable=False),
        sa.Column('builds_on', sa.Text(), nullable=False),
        sa.Column('takes', sa.Text(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('neighbourhood_id', sa.Integer(), nullable=True),
        sa.Column('asset_id', sa.Integer(), nullable=True),
        sa.Column('gap_cell', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('proposer_id', sa.Integer(), nullable=False),
        sa.Column('show_name', sa.Boolean(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        _fk('idea', 'category_id', 'asset_category'), _fk('idea', 'neighbourhood_id',
                                                          'neighbourhood'),
        _fk('idea', 'asset_id', 'asset'), _fk('idea', 'proposer_id', 'member'), _pk('idea'),
    )
    with op.batch_alter_table('idea', schema=None) as batch_op:
        for column in ('status', 'proposer_id', 'created_at'):
            batch_op.create_index(batch_op.f(f'ix_idea_{column}'), [column], unique=False)
    op.create_table(
        'idea_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('need', sa.Text(), nullable=False),
        sa.Column('builds_on', sa.Text(), nullable=False),
        sa.Column('takes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('idea_revision', 'idea_id', 'idea'), _pk('idea_revision'),
    )
    op.create_table(
        'idea_support',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('idea_support', 'idea_id', 'idea'), _fk('idea_support', 'member_id', 'member'),
        _pk('idea_support'),
        sa.UniqueConstraint('idea_id', 'member_id', name='one_support_each'),
    )
    op.create_table(
        'idea_rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('benefits', sa.Integer(), nullable=False),
        sa.Column('builds', sa.Integer(), nullable=False),
        sa.Column('together', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        _fk('idea_rating', 'idea_id', 'idea'), _fk('idea_rating', 'member_id', 'member'),
        _pk('idea_rating'),
        sa.UniqueConstraint('idea_id', 'member_id', name='one_rating_each'),
    )
    op.create_table(
        'idea_comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('idea_comment', 'idea_id', 'idea'), _fk('idea_comment', 'author_id', 'member'),
        _pk('idea_comment'),
    )
    op.create_table(
        'idea_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('idea_answer', 'idea_id', 'idea'), _fk('idea_answer', 'by_id', 'member'),
        _pk('idea_answer'),
    )
    for table in ('idea_revision', 'idea_support', 'idea_rating', 'idea_comment',
                  'idea_answer'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_idea_id'), ['idea_id'], unique=False)
    op.create_table(
        'codesign_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('accessibility', sa.Text(), nullable=False),
        sa.Column('seats', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('activity_key', sa.String(length=64), nullable=True),
        _fk('codesign_session', 'bank_id', 'bank'),
        _fk('codesign_session', 'created_by_id', 'member'), _pk('codesign_session'),
    )
    with op.batch_alter_table('codesign_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_codesign_session_bank_id'), ['bank_id'],
                              unique=False)
    op.create_table(
        'session_idea',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        _fk('session_idea', 'session_id', 'codesign_session'),
        _fk('session_idea', 'idea_id', 'idea'), _pk('session_idea'),
        sa.UniqueConstraint('session_id', 'idea_id', name='once_per_session'),
    )
    op.create_table(
        'session_signup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('attended', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('session_signup', 'session_id', 'codesign_session'),
        _fk('session_signup', 'member_id', 'member'), _pk('session_signup'),
        sa.UniqueConstraint('session_id', 'member_id', name='one_seat_each'),
    )
    op.create_table(
        'idea_role',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        _fk('idea_role', 'idea_id', 'idea'), _fk('idea_role', 'category_id', 'category'),
        _fk('idea_role', 'created_by_id', 'member'), _pk('idea_role'),
    )
    with op.batch_alter_table('idea_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_role_idea_id'), ['idea_id'], unique=False)
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idea_role_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_listing_idea_role_id'), ['idea_role_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_listing_idea_role_id_idea_role'),
                                    'idea_role', ['idea_role_id'], ['id'])
        batch_op.create_unique_constraint('one_offer_per_role', ['idea_role_id', 'member_id'])
    for table, columns in (('session_idea', ('session_id', 'idea_id')),
                           ('session_signup', ('session_id', 'member_id'))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column],
                                      unique=False)


def downgrade():
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_constraint('one_offer_per_role', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_listing_idea_role_id_idea_role'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_listing_idea_role_id'))
        batch_op.drop_column('idea_role_id')
    for table in ('idea_role', 'session_signup', 'session_idea', 'codesign_session', 'idea_answer',
                  'idea_comment', 'idea_rating', 'idea_support', 'idea_revision', 'idea'):
        op.drop_table(table)

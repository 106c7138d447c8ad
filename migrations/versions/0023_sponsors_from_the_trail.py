"""who stood behind a log-in given before four eyes: from the audit trail

Before 0020 a coordinator gave a member without a computer a log-in alone
(``member.login_link_sent`` on the trail). That coordinator stands behind the member as
one who asks for a log-in now does: recorded as an agreed ``login`` request, so time the
member pays them waits for a second coordinator (four_eyes.py).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 10:00:00

"""
import datetime

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

MARK = {"from": "audit trail"}


def upgrade():
    bind = op.get_bind()
    approval = sa.table('approval', sa.column('bank_id', sa.Integer),
                        sa.column('kind', sa.String), sa.column('status', sa.String),
                        sa.column('member_id', sa.Integer), sa.column('payload', sa.JSON),
                        sa.column('requested_by_id', sa.Integer),
                        sa.column('requested_at', sa.DateTime),
                        sa.column('decided_by_id', sa.Integer),
                        sa.column('decided_at', sa.DateTime))
    rows = []
    for actor, member, when in bind.execute(sa.text(
            "SELECT actor_id, object_id, created_at FROM audit_event "
            "WHERE action = 'member.login_link_sent' AND object_type = 'member' "
            "AND actor_id IS NOT NULL AND object_id IS NOT NULL")):
        bank = bind.execute(sa.text(
            "SELECT bank_id FROM membership WHERE member_id = :m ORDER BY id LIMIT 1"),
            {"m": member}).scalar()
        if bank is None:
            continue
        if isinstance(when, str):
            when = datetime.datetime.fromisoformat(when)
        rows.append({"bank_id": bank, "kind": "login", "status": "approved",
                     "member_id": member, "payload": MARK, "requested_by_id": actor,
                     "requested_at": when, "decided_by_id": None, "decided_at": when})
    if rows:
        op.bulk_insert(approval, rows)


def downgrade():
    op.execute(sa.text("DELETE FROM approval WHERE kind = 'login' AND decided_by_id IS NULL "
                       "AND status = 'approved'"))

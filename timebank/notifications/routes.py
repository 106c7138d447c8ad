"""The member's notifications page."""

from flask_login import current_user
from sqlalchemy import select

from .. import notify
from ..db import write_transaction
from ..extensions import db
from ..htmx import render
from ..models import Notification
from ..permissions import allow
from ..tenancy import BankBlueprint

bp = BankBlueprint("notifications", __name__)


@bp.route("/notifications")
@allow("notifications.own")
def index():
    items = db.session.scalars(
        select(Notification).where(Notification.member_id == current_user.id,
                                   notify.in_this_bank())
        .order_by(Notification.id.desc()).limit(100)
    ).all()
    unread = {n.id for n in items if n.read_at is None}
    if unread:
        with write_transaction():  # a write inside a GET: take the lock properly
            notify.mark_all_read(current_user.id)  # seen now
    return render("notifications/list.html", items=items, unread=unread)

"""The member's notifications page."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import notify
from timebank.infra.db import write_transaction
from timebank.web.forms import ActionForm, button_pressed
from timebank.web.htmx import render
from timebank.web.permissions import allow
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("notifications", __name__)


@bp.route("/notifications")
@allow("notifications.own")
def index():
    before = arg_id("before")
    items, next_before = notify.page_for(current_user.id, current_bank_id(), before)
    # Reading the page changes nothing (a GET may be prefetched or repeated): the
    # button below marks them read.
    unread = {n.id for n in items if n.read_at is None}
    return render("notifications/list.html", items=items, unread=unread, before=before,
                  next_before=next_before, action_form=ActionForm())


@bp.route("/notifications/read", methods=["POST"])
@allow("notifications.own")
def mark_read():
    button_pressed()
    with write_transaction():
        notify.mark_all_read(current_user.id, current_bank_id())
    flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"), 303)

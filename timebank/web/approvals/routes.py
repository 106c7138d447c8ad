"""The approvals page: what waits for a second coordinator, and their answer."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import approvals as service
from timebank.core import four_eyes
from timebank.core.errors import Refused
from timebank.infra.extensions import db
from timebank.web.forms import button_pressed
from timebank.web.htmx import render
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("approvals", __name__)


@bp.route("/coordinator/approvals")
@allow("approvals.decide")
def waiting():
    return render("approvals/waiting.html", approvals=four_eyes.waiting(current_bank_id()),
                  exchanges=four_eyes.exchanges_waiting(current_bank_id()),
                  describe=four_eyes.describe, may_decide=four_eyes.may_decide)


@bp.route("/coordinator/approvals/<int:approval_id>/<any(agree,refuse):answer>",
          methods=["POST"])
@allow("approvals.decide")
def decide(approval_id: int, answer: str):
    button_pressed()
    try:
        service.decide(approval_id, current_user._get_current_object(), answer == "agree",
                       current_bank_id())
    except Refused as error:

        db.session.rollback()
        if error.status in (403, 404):
            abort(error.status, error.message)
        flash(error.message, "error")
    else:
        flash(_("Done: you agreed.") if answer == "agree" else _("Done: you did not agree."),
              "success")
    return redirect(url_for("approvals.waiting"), 303)

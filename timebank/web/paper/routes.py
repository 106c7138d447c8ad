"""Printable sheets, in the member's own language, with the bank's contact details.

A member prints their own; a coordinator prints them for a member of the bank
(to post or hand over), and the sheet is in that member's language.
"""


from flask import abort
from flask_login import current_user

from timebank.core import listings
from timebank.core.members.lookup import sheet_for
from timebank.core.models import Member
from timebank.infra import clock
from timebank.web.htmx import render
from timebank.web.i18n import on_paper_for
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank, current_bank_id

bp = BankBlueprint("paper", __name__)
TIMESHEET_ROWS = 12


def _member(member_id: int | None) -> Member:
    """Oneself, or (for coordinators) a member of this bank, or (for helpers) one enrolled
    without e-mail; 404 for anyone else."""
    member = sheet_for(current_user._get_current_object(), member_id, current_bank_id())
    if member is None:
        abort(404)
    return member


def _sheet(template: str, member: Member, **ctx):
    with on_paper_for(member, current_bank_id()):
        return render(template, member=member, the_bank=current_bank(), today=clock.today(),
                      **ctx)


@bp.route("/paper/timesheet")
@bp.route("/coordinator/members/<int:member_id>/timesheet")
@allow("statements.view")
def timesheet(member_id: int | None = None):
    return _sheet("paper/timesheet.html", _member(member_id), rows=range(TIMESHEET_ROWS))


@bp.route("/paper/nearby")
@bp.route("/coordinator/members/<int:member_id>/nearby")
@allow("statements.view")
def nearby_sheet(member_id: int | None = None):
    member = _member(member_id)
    return _sheet("paper/nearby.html", member, listings=listings.nearby(member, current_bank_id()),
                  km=listings.NEARBY_KM)

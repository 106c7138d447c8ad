"""Member pages: your profile, the member picker, and coordinators' member management."""

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, or_, select

from .. import geo, ledger
from ..extensions import db
from ..forms import ActionForm
from ..htmx import render, render_form
from ..models import Account, Member, Membership, MemberStatus
from ..permissions import allow
from ..tenancy import BankBlueprint, current_bank_id
from . import lookup, rights, service
from .forms import ErasureForm, FloorForm, ProfileForm, RoleForm

bp = BankBlueprint("members", __name__)
# How a membership status reads in a sentence ("… is now active").
STATUS_WORDS = {"pending": lambda: _("pending"), "active": lambda: _("active"),
                "suspended": lambda: _("suspended")}


@bp.route("/profile", methods=["GET", "POST"])
@allow("account.own")
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        located = service.update_profile(current_user._get_current_object(), form.data,
                                         geo.geocoder())
        if located.note:
            flash(located.note, "info")
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("members.profile"))
    return render_form("members/profile.html", form)


@bp.route("/members/search")
@allow("members.pick")
def search():
    """Active trading members whose name starts with ``q`` (the exchange pickers).

    Only coordinators may also search by e-mail address: a resident must not be able
    to spell out someone's address letter by letter.
    """
    # The picker sends its own field (other, giver, receiver…), so take any value.
    q = next((v for v in request.args.values() if v.strip()), "").strip()[:80]
    members = []
    if len(q) >= 2:
        members = lookup.search(q, current_bank_id(), exclude=current_user.id,
                                by_email=current_user.is_staff)
    return render("members/_options.html", members=members)


@bp.route("/coordinator/members")
@allow("members.manage")
def manage():
    status = request.args.get("status", "")
    if status not in ("", *MemberStatus):
        abort(400, "Unknown status filter.")
    here = current_bank_id()
    query = (select(Member, Account)
             .join(Membership, (Membership.member_id == Member.id) & (Membership.bank_id == here))
             .outerjoin(Account, (Account.member_id == Member.id) & (Account.bank_id == here)))
    # An application shows once its address is confirmed (a typo'd address never does).
    confirmed = or_(Membership.status != MemberStatus.PENDING,
                    Member.email_verified_at.is_not(None))
    query = query.where(confirmed)
    if status:
        query = query.where(Membership.status == status)
    pending_first = case((Membership.status == MemberStatus.PENDING, 0), else_=1)
    rows = db.session.execute(query.order_by(pending_first, Member.display_name).limit(500)).all()
    counts = dict(db.session.execute(
        select(Membership.status, func.count()).join(Member, Member.id == Membership.member_id)
        .where(Membership.bank_id == here, confirmed).group_by(Membership.status)).all())
    return render("members/manage.html", rows=rows, status_filter=status, counts=counts,
                  action_form=ActionForm())


def _member_or_404(member_id: int) -> Member:
    """A member of the current bank (admins and council viewers: anyone); 404 otherwise."""
    member = db.get_or_404(Member, member_id)
    if member.membership_in(current_bank_id()) is None and not current_user.is_admin:
        abort(404)
    return member


@bp.route("/coordinator/members/<int:member_id>")
@allow("members.manage")
def detail(member_id: int):
    member = _member_or_404(member_id)
    account = ledger.account_of(member)
    floor_form = FloorForm(floor_hours=(account.floor // 60) if account and account.floor else 0)
    return render("members/detail.html", member=member, account=account,
                  action_form=ActionForm(), floor_form=floor_form,
                  role_form=RoleForm(role=member.role))


@bp.route("/coordinator/members/<int:member_id>/<any(approve,suspend,reactivate):action>",
          methods=["POST"])
@allow("members.manage")
def change_status(member_id: int, action: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    member = _member_or_404(member_id)
    try:
        service.change_status(member, action, current_user, current_bank_id())
    except service.MemberError as error:
        if error.status != 409:
            abort(error.status, error.message)
        flash(error.message, "error")
        return redirect(url_for("members.manage"), 303)
    flash(_("%(name)s is now %(status)s.", name=member.display_name,
            status=STATUS_WORDS[member.bank_status]()), "success")
    back_to_member = request.form.get("back") == "detail"
    target = (url_for("members.detail", member_id=member.id) if back_to_member
              else url_for("members.manage"))
    return redirect(target, 303)


@bp.route("/coordinator/members/<int:member_id>/floor", methods=["POST"])
@allow("members.manage")
def set_floor(member_id: int):
    member = _member_or_404(member_id)
    account = ledger.account_of(member)
    if account is None:
        abort(404)
    form = FloorForm()
    if form.validate_on_submit():
        try:
            ledger.set_floor(account.id, form.floor_hours.data * 60, current_user)
        except ledger.LedgerError as error:
            form.floor_hours.errors.append(error.message)
        else:
            flash(_("%(name)s's limit is now %(hours)s hours.", name=member.display_name,
                    hours=form.floor_hours.data), "success")
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return render("members/detail.html", status=422, member=member, account=account,
                  action_form=ActionForm(), floor_form=form, role_form=RoleForm(role=member.role))


# -- data rights ---------------------------------------------------------------------------


@bp.route("/account/data", methods=["GET", "POST"])
@allow("account.own")
def my_data():
    """What we hold, the downloads, and the request to be erased."""
    form = ErasureForm()
    member = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            rights.request_erasure(member, form.password.data)
        except rights.RightsError as error:
            form.password.errors.append(error.message)
        else:
            flash(_("Your request is with your coordinators. They will check nothing is "
                    "outstanding, erase your details and let you know."), "success")
            return redirect(url_for("members.my_data"), 303)
    return render_form("members/my_data.html", form, member=member)


@bp.route("/account/data.json")
@allow("account.own")
def data_json():
    data = rights.export(current_user._get_current_object())
    response = jsonify(data)
    response.headers["Content-Disposition"] = "attachment; filename=my-timebank-data.json"
    return response


@bp.route("/coordinator/members/<int:member_id>/erase", methods=["POST"])
@allow("erasure.confirm")
def erase(member_id: int):
    member = _member_or_404(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        rights.erase(member, current_user._get_current_object())
    except rights.RightsError as error:
        flash(error.message, "error")
    else:
        flash(_("Their personal details are erased; their hours stay in the accounts."),
              "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)

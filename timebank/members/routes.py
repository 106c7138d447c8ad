from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, false, func, or_, select

from .. import ledger
from ..auth import staff_required, trader_required
from ..extensions import db
from ..forms import like_pattern
from ..htmx import render, render_form
from ..models import Account, Member, MemberStatus
from ..models.audit import record as audit
from ..models.base import utcnow
from ..models.members import TRADING_ROLES
from .forms import ActionForm, FloorForm, ProfileForm

bp = Blueprint("members", __name__)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        member = current_user._get_current_object()
        address = (form.address.data or "").strip()
        if address != member.address or (address and member.latitude is None):
            _locate(member, address)  # before any change: no lock held while we wait
        for field in ("display_name", "neighbourhood", "skills", "availability", "bio", "phone"):
            setattr(member, field, (getattr(form, field).data or "").strip())
        member.email_preference = form.email_preference.data
        member.matching_opt_out = bool(form.matching_opt_out.data)
        audit(member.id, "member.update_profile", "member", member.id)
        db.session.commit()
        flash("Your profile is saved.", "success")
        return redirect(url_for("members.profile"))
    return render_form("members/profile.html", form)


@bp.route("/members/search")
@trader_required
def search():
    """Active trading members whose name starts with ``q`` (the exchange pickers).

    Only coordinators may also search by e-mail address: a resident must not be able
    to spell out someone's address letter by letter.
    """
    # The picker sends its own field (other, giver, receiver…), so take any value.
    q = next((v for v in request.args.values() if v.strip()), "").strip()[:80]
    members = []
    if len(q) >= 2:
        like = like_pattern(q, prefix_only=True)
        members = db.session.scalars(
            select(Member)
            .where(
                Member.status == MemberStatus.ACTIVE.value,
                Member.id != current_user.id,
                Member.role.in_([r.value for r in TRADING_ROLES]),
                or_(
                    Member.display_name.ilike(like, escape="\\"),
                    Member.display_name.ilike("% " + like, escape="\\"),
                    Member.email.ilike(like, escape="\\") if current_user.is_staff else false(),
                ),
            )
            .order_by(Member.display_name)
            .limit(10)
        ).all()
    return render("members/_options.html", members=members)


@bp.route("/coordinator/members")
@staff_required
def manage():
    status = request.args.get("status", "")
    if status not in ("", *[s.value for s in MemberStatus]):
        abort(400, "Unknown status filter.")
    query = select(Member, Account).outerjoin(Account, Account.member_id == Member.id)
    if status:
        query = query.where(Member.status == status)
    pending_first = case((Member.status == MemberStatus.PENDING.value, 0), else_=1)
    rows = db.session.execute(query.order_by(pending_first, Member.display_name).limit(500)).all()
    counts = dict(
        db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all()
    )
    return render("members/manage.html", rows=rows, status_filter=status, counts=counts,
                  action_form=ActionForm())


def _member_or_404(member_id: int) -> Member:
    member = db.get_or_404(Member, member_id)
    return member


@bp.route("/coordinator/members/<int:member_id>")
@staff_required
def detail(member_id: int):
    member = _member_or_404(member_id)
    account = ledger.account_of(member)
    floor_form = FloorForm(floor_hours=(account.floor // 60) if account and account.floor else 0)
    return render("members/detail.html", member=member, account=account,
                  action_form=ActionForm(), floor_form=floor_form)


@bp.route("/coordinator/members/<int:member_id>/<any(approve,suspend,reactivate):action>",
          methods=["POST"])
@staff_required
def change_status(member_id: int, action: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    member = _member_or_404(member_id)
    if member.id == current_user.id:
        abort(400, "You cannot change your own membership status.")
    if member.is_staff and current_user.role != "admin":
        abort(403, "Only an admin can suspend or reactivate a coordinator or admin.")
    before = member.status
    allowed = {
        "approve": (MemberStatus.PENDING, MemberStatus.ACTIVE),
        "suspend": (MemberStatus.ACTIVE, MemberStatus.SUSPENDED),
        "reactivate": (MemberStatus.SUSPENDED, MemberStatus.ACTIVE),
    }[action]
    if before != allowed[0].value:
        flash(f"{member.display_name} is {before}, so cannot be {action}d.", "error")
        return redirect(url_for("members.manage")), 303
    member.status = allowed[1].value
    if action == "approve":
        member.approved_at = utcnow()
        member.approved_by_id = current_user.id
        ledger.open_account(member)
    audit(current_user.id, f"member.{action}", "member", member.id, before=before)
    db.session.commit()
    flash(f"{member.display_name} is now {member.status}.", "success")
    back_to_member = request.form.get("back") == "detail"
    target = (url_for("members.detail", member_id=member.id) if back_to_member
              else url_for("members.manage"))
    return redirect(target, 303)


@bp.route("/coordinator/members/<int:member_id>/floor", methods=["POST"])
@staff_required
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
            flash(f"{member.display_name}'s limit is now {form.floor_hours.data} hours.", "success")
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return render("members/detail.html", status=422, member=member, account=account,
                  action_form=ActionForm(), floor_form=form)


def _locate(member: Member, address: str) -> None:
    """Geocode the member's address; the profile saves whatever the geocoder says."""
    from .. import geo

    if not address:
        member.address = ""
        member.latitude = member.longitude = None
        member.public_latitude = member.public_longitude = None
        return
    try:
        place = geo.geocoder().geocode(address)
    except geo.GeocoderUnavailable:
        member.address = address
        flash("We could not look up your address just now, so distances are not used yet. "
              "We will try again later.", "info")
        return
    member.address = address
    if place is None:
        flash("We could not find that address. Try a postcode, or a street and town.", "info")
        member.latitude = member.longitude = None
        member.public_latitude = member.public_longitude = None
        return
    member.latitude, member.longitude = place.latitude, place.longitude
    member.public_latitude, member.public_longitude = geo.public_point(place.latitude,
                                                                       place.longitude)

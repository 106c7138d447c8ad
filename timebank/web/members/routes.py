"""Member pages: your profile, the member picker, and coordinators' member management."""

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from timebank.core import checks, four_eyes, participation, quiet
from timebank.core.errors import Refused
from timebank.core.ledger import writer as ledger
from timebank.core.members import lookup, rights, service
from timebank.core.models import ApprovalKind, Member, MemberCheck, MemberStatus
from timebank.core.models.base import utcnow
from timebank.core.models.checks import CHECK_WORDS, CheckKind
from timebank.core.words import status_word
from timebank.infra import clock, geo
from timebank.infra.db import MAX_ID
from timebank.infra.extensions import db
from timebank.web.auth.limits import account_limit
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render, render_form
from timebank.web.members.forms import (
    CallForm,
    CheckForm,
    DetailsForm,
    DirectoryForm,
    ErasureForm,
    FloorForm,
    ProfileForm,
    ReasonForm,
    RoleForm,
)
from timebank.web.permissions import allow, may
from timebank.web.routing import replica_reads
from timebank.web.tenancy import BankBlueprint, current_bank, current_bank_id

bp = BankBlueprint("members", __name__)


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
    today = clock.today()
    return render_form("members/profile.html", form,
                       taking_part=participation.what_they_did(current_user.id),
                       checks=[(c, checks.is_valid(c, today))
                               for c in checks.of_member(current_user.id)])


@bp.route("/members")
@allow("members.pick")
def directory():
    """The bank's members: who offers what, where, and how to reach those who say so."""
    form = DirectoryForm(request.args)
    form.category.choices = category_choices(_("Any kind of help"))
    found, status = lookup.DirectoryPage([], None), 200
    if form.validate():
        try:
            found = lookup.directory(current_bank_id(), form.name.data or "",
                                     form.category.data or None, form.neighbourhood.data or "",
                                     _page_after())
        except LookupError:
            abort(400, _("Unknown page."))
    else:
        status = 422
    args = {k: v for k, v in request.args.items() if k in ("name", "category", "neighbourhood")
            and v}
    return render("members/directory.html", form=form, entries=found.cards, args=args,
                  next_after=found.next_after, status=status)


@bp.route("/members/search")
@allow("members.pick")
def search():
    """Active trading members whose name starts with ``q`` (the exchange pickers).

    Only coordinators may also search by e-mail address: a resident must not be able
    to spell out someone's address letter by letter.
    """
    # The picker sends its own field (other, giver, receiver…), so take any value.
    q = next((v for v in request.args.values() if v.strip()), "").strip()[:80]
    if not request.headers.get("HX-Request"):  # opened directly: the directory page
        return redirect(url_for("members.directory", name=q))
    members = []
    if len(q) >= 2:
        members = lookup.search(q, current_bank_id(), exclude=current_user.id,
                                by_email=may("members.manage"))
    return render("members/_options.html", members=members)


@bp.route("/coordinator/members")
@allow("members.manage")
def manage():
    status = request.args.get("status", "")
    if status not in ("", *MemberStatus):
        abort(400, _("Unknown status filter."))
    after = _page_after()
    q = request.args.get("q", "").strip()[:80]
    quiet = request.args.get("quiet") == "1"
    here = current_bank_id()
    quiet_ids = (participation.quiet_members(here, utcnow()).with_only_columns(Member.id)
                 .order_by(None) if quiet else None)  # the work queue's 90 quiet days
    try:
        page = lookup.members_page(here, status, quiet_ids, q, after)
    except LookupError:
        abort(400, _("Unknown page."))
    return render("members/manage.html", page=page, status_filter=status, q=q,
                  may_change=_may_change, quiet=quiet, action_form=ActionForm())


def _page_after() -> int | None:
    """The member a page of names continues after (the pager's links), if any."""
    after = request.args.get("after", "")
    if after and not (after.isascii() and after.isdigit() and len(after) < 12
                      and int(after) <= MAX_ID):
        abort(400, _("Unknown page."))
    return int(after) if after else None


def _may_change(member: Member) -> bool:
    """For templates: show only the status buttons this coordinator may use."""
    return service.may_change_status(member, current_user, current_bank_id())


def _may_edit(member: Member) -> bool:
    return service.may_edit_details(member, current_user, current_bank_id())


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
    account = ledger.account_of(member, current_bank_id())
    floor_form = FloorForm(floor_hours=(account.floor // 60) if account and account.floor else 0)
    return _detail(member, account=account, floor_form=floor_form)


def _detail(member: Member, status: int = 200, **forms):
    account = forms.pop("account", None) or ledger.account_of(member, current_bank_id())
    forms.setdefault("floor_form", FloorForm(
        floor_hours=(account.floor // 60) if account and account.floor else 0))
    forms.setdefault("check_form", CheckForm())
    today = clock.today()
    return render("members/detail.html", member=member, account=account, may_change=_may_change,
                  may_edit=_may_edit, taking_part=participation.what_they_did(member.id),
                  action_form=ActionForm(), status=status,
                  role_form=RoleForm(role=member.role_in(current_bank_id())),
                  checks=[(c, checks.is_valid(c, today)) for c in checks.of_member(member.id)],
                  **forms)


@bp.route("/coordinator/quiet")
@allow("members.manage")
def quiet_list():
    """Quiet members to work through: requests to suggest, and notes of calls."""
    return _quiet_page()


def _quiet_page(status: int = 200, error: str | None = None, call_form=None,
                member_id: int | None = None):
    rows, total = quiet.worklist(current_bank_id(), clock.utcnow())
    forms = {row.member.id: CallForm(prefix=f"m{row.member.id}", formdata=None)
             for row in rows}
    if call_form is not None and member_id is not None:
        forms[member_id] = call_form  # with its errors
    return render("members/quiet.html", rows=rows, total=total, forms=forms,
                  action_form=ActionForm(), error=error, status=status)


@bp.route("/coordinator/quiet/<int:member_id>/suggest/<int:listing_id>", methods=["POST"])
@allow("members.manage")
def quiet_suggest(member_id: int, listing_id: int):
    button_pressed()
    try:
        contact = quiet.suggest(member_id, listing_id, current_user, current_bank_id(),
                                clock.utcnow())
    except Refused as refused:
        return _quiet_page(refused.status, refused.message)
    flash(_("Suggested to %(name)s; they have been told.",
            name=db.session.get(Member, contact.member_id).display_name), "success")
    return redirect(url_for("members.quiet_list"), 303)


@bp.route("/coordinator/quiet/<int:member_id>/call", methods=["POST"])
@allow("members.manage")
def quiet_call(member_id: int):
    form = CallForm(prefix=f"m{member_id}")
    if form.validate_on_submit():
        try:
            quiet.note_call(member_id, current_user, current_bank_id(), form.note.data,
                            clock.utcnow())
        except Refused as refused:
            return _quiet_page(refused.status, refused.message)
        flash(_("The call is noted."), "success")
        return redirect(url_for("members.quiet_list"), 303)
    return _quiet_page(422, call_form=form, member_id=member_id)


@bp.route("/coordinator/checks")
@allow("members.manage")
def expiring_checks():
    """The work queue's list: safeguarding checks ending within 30 days."""
    found = db.session.scalars(checks.expiring(current_bank_id(), clock.today()).limit(500))
    return render("members/expiring_checks.html", checks=list(found))


@bp.route("/coordinator/members/<int:member_id>/checks", methods=["POST"])
@allow("members.manage")
def record_check(member_id: int):
    """A coordinator records a safeguarding check they saw."""
    member = _member_or_404(member_id)
    form = CheckForm()
    if form.validate_on_submit():
        try:
            checks.record(member, current_bank_id(), form.kind.data, form.done_on.data,
                          form.expires_on.data, current_user, clock.utcnow())
        except Refused as refused:
            place(form, refused, "done_on")
        else:
            flash(_("Recorded: %(name)s has a %(check)s.", name=member.display_name,
                    check=str(CHECK_WORDS[CheckKind(form.kind.data)])), "success")
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return _detail(member, status=422, check_form=form)


@bp.route("/coordinator/members/<int:member_id>/checks/<int:check_id>/remove",
          methods=["POST"])
@allow("members.manage")
def remove_check(member_id: int, check_id: int):
    member = _member_or_404(member_id)
    button_pressed()
    check = db.session.get(MemberCheck, check_id)
    if check is None or check.member_id != member.id:
        abort(404)
    try:
        checks.remove(check, current_user, current_bank_id())
    except Refused as refused:
        abort(refused.status, refused.message)
    flash(_("The check is taken off their record."), "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


@bp.route("/coordinator/members/new", methods=["GET", "POST"])
@allow("members.manage")
def enrol():
    """Enrol someone without e-mail or computer (a phone number or an address will do)."""
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            member, located = service.enrol(form.data, current_user._get_current_object(),
                                            current_bank(), geo.geocoder())
        except service.MemberError as error:
            db.session.rollback()
            place(form, error, "display_name")
        else:
            if located.note:
                flash(located.note, "info")
            flash(_("%(name)s is a member now, number %(number)s. You can record time and post "
                    "offers and requests for them, and print their timesheet.",
                    name=member.display_name, number=member.id), "success")
            if form.email.data:
                _flash_login_asked(member, form.email.data)
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return render_form("members/details.html", form, member=None)


def _asks_for_login(member: Member, form) -> bool:
    return bool(form.email.data) and Member.normalise_email(form.email.data) != (
        member.email or "")


def _flash_login_asked(member: Member, email: str) -> None:
    flash(_("A second coordinator must agree before %(name)s gets a log-in at %(email)s: "
            "the others have been asked. The link goes out once one of them agrees.",
            name=member.display_name, email=Member.normalise_email(email)), "info")


@bp.route("/coordinator/members/<int:member_id>/edit", methods=["GET", "POST"])
@allow("members.manage")
def edit(member_id: int):
    member = _member_or_404(member_id)
    if not service.may_edit_details(member, current_user, current_bank_id()):
        abort(403, _("Only an admin can change the details of staff, or of someone who "
                     "belongs to another time bank too."))
    form = DetailsForm(obj=member if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            asked = _asks_for_login(member, form)
            located = service.edit_details(member, form.data, current_user, geo.geocoder(),
                                           current_bank_id())
        except service.MemberError as error:
            db.session.rollback()
            place(form, error, "display_name")
        else:
            if located.note:
                flash(located.note, "info")
            flash(_("Saved."), "success")
            if asked:
                _flash_login_asked(member, form.email.data)
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return render_form("members/details.html", form, member=member)


@bp.route("/coordinator/members/<int:member_id>/<any(approve,decline,suspend,reactivate):action>",
          methods=["GET", "POST"])
@allow("members.manage")
def change_status(member_id: int, action: str):
    """Approve and reactivate are one button; declining and suspending first ask why (the
    person is told) and for a confirmation, on their own page."""
    member = _member_or_404(member_id)
    if not service.may_change_status(member, current_user, current_bank_id()):
        abort(403, _("Only an admin can suspend or reactivate a coordinator or admin."))
    needs_reason = action in service.NEEDS_REASON
    form = ReasonForm() if needs_reason else ActionForm()
    if request.method == "GET" and not needs_reason:
        abort(405)
    if request.method == "POST" and form.validate_on_submit():
        try:
            service.change_status(member, action, current_user, current_bank_id(),
                                  form.reason.data if needs_reason else "")
        except service.MemberError as error:
            if error.status == 422:
                place(form, error, "reason")
            elif error.status != 409:
                abort(error.status, error.message)
            else:
                flash(error.message, "error")
                return redirect(url_for("members.manage"), 303)
        else:
            flash(_("%(name)s is now %(status)s.", name=member.display_name,
                    status=status_word(member.status_in(current_bank_id()))), "success")
            back_to_member = request.form.get("back") == "detail"
            target = (url_for("members.detail", member_id=member.id) if back_to_member
                      else url_for("members.manage"))
            return redirect(target, 303)
    elif request.method == "POST" and not needs_reason:
        abort(400)
    return render_form("members/reason.html", form, member=member, action=action)


@bp.route("/coordinator/members/<int:member_id>/floor", methods=["POST"])
@allow("members.manage")
def set_floor(member_id: int):
    member = _member_or_404(member_id)
    account = ledger.account_of(member, current_bank_id())
    if account is None:
        abort(404)
    form = FloorForm()
    if form.validate_on_submit():
        try:
            ledger.set_floor(account.id, form.floor_hours.data * 60, current_user)
        except ledger.SecondNeeded as error:
            db.session.rollback()
            four_eyes.ask(ApprovalKind.FLOOR, current_bank_id(), current_user, member,
                          account_id=account.id, floor=form.floor_hours.data * 60)
            db.session.commit()
            flash(_("%(why)s The others have been asked; the limit changes once one of "
                    "them agrees.", why=error.message), "info")
            return redirect(url_for("members.detail", member_id=member.id), 303)
        except ledger.LedgerError as error:
            place(form, error, "floor_hours")
        else:
            flash(_("%(name)s's limit is now %(hours)s hours.", name=member.display_name,
                    hours=form.floor_hours.data), "success")
            return redirect(url_for("members.detail", member_id=member.id), 303)
    return _detail(member, status=422, account=account, floor_form=form)


# -- data rights ---------------------------------------------------------------------------


@bp.route("/account/data", methods=["GET", "POST"])
@allow("account.own")
@account_limit
def my_data():
    """What we hold, the downloads, and the request to be erased."""
    form = ErasureForm()
    member = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            rights.request_erasure(member, form.password.data)
        except rights.RightsError as error:
            place(form, error, "password")
        else:
            flash(_("Your request is with your coordinators. They will check nothing is "
                    "outstanding, erase your details and let you know."), "success")
            return redirect(url_for("members.my_data"), 303)
    return render_form("members/my_data.html", form, member=member)


@bp.route("/account/data.json")
@allow("account.own")
@replica_reads
def data_json():
    return _download(rights.export(current_user._get_current_object()),
                     "my-timebank-data.json")


def _download(chunks, filename: str):
    """The member's data as it is read (``rights.export`` streams it)."""
    response = Response(stream_with_context(chunks), mimetype="application/json")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def _editable_member(member_id: int) -> Member:
    """A member of this bank whose details this coordinator may keep (else 404/403)."""
    member = _member_or_404(member_id)
    if not service.may_edit_details(member, current_user, current_bank_id()):
        abort(403)
    return member


@bp.route("/coordinator/members/<int:member_id>/erasure-request", methods=["POST"])
@allow("erasure.confirm")
def erasure_request(member_id: int):
    """A request made by phone or on paper, noted by a coordinator."""
    member = _editable_member(member_id)
    button_pressed()
    rights.record_request(member, current_user._get_current_object())
    flash(_("Noted: %(name)s asked to be erased.", name=member.display_name), "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


@bp.route("/coordinator/members/<int:member_id>/data.json")
@allow("members.manage")
@replica_reads
def member_data(member_id: int):
    """Everything held about a member, for one who asked without a log-in (audited)."""
    member = _editable_member(member_id)
    return _download(rights.export(member, current_user._get_current_object()),
                     f"member-{member.id}-data.json")


@bp.route("/coordinator/members/<int:member_id>/erase", methods=["POST"])
@allow("erasure.confirm")
def erase(member_id: int):
    member = _member_or_404(member_id)
    button_pressed()
    try:
        rights.erase(member, current_user._get_current_object())
    except rights.RightsError as error:
        flash(error.message, "error")
    else:
        flash(_("Their personal details are erased; their hours stay in the accounts."),
              "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)


# -- helpers ------------------------------------------------------------------------------


@bp.route("/helpers")
@allow("helpers.welcome")
def helpers():
    """A helper's page: newcomers to welcome, and members without e-mail to buddy."""
    return render("members/helpers.html", **service.helper_lists(current_bank_id()))


@bp.route("/coordinator/members/<int:member_id>/helper", methods=["POST"])
@allow("members.manage")
def set_helper(member_id: int):
    member = _member_or_404(member_id)
    button_pressed()
    on = request.form.get("helper") == "1"
    try:
        service.set_helper(member, on, current_user, current_bank_id())
    except service.MemberError as error:
        flash(error.message, "error")
    else:
        flash(_("%(name)s is a helper now.", name=member.display_name) if on else
              _("%(name)s is no longer a helper.", name=member.display_name), "success")
    return redirect(url_for("members.detail", member_id=member.id), 303)

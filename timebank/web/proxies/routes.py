"""Proxies ("guardian angels"): naming one, acting for someone, and the coordinators'
side (recording that a member named one, and agreeing as the second coordinator)."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from timebank.core import proxies
from timebank.core.ledger import writer as ledger
from timebank.core.members.lookup import MemberNotFound, refuse, resolve_member
from timebank.core.members.service import may_change_status
from timebank.core.models import Account, Exchange, ExchangeStatus, Member, Proxy
from timebank.infra import clock
from timebank.infra.db import MAX_ID
from timebank.infra.extensions import db
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render
from timebank.web.permissions import allow, may
from timebank.web.proxies.forms import NameForm, NameForMemberForm, RecordForForm
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("proxies", __name__)


def _record_form(form: RecordForForm | None = None) -> RecordForForm:
    form = form or RecordForForm()
    form.category.choices = category_choices()
    form.member.choices = [(m.id, m.display_name) for m in
                           proxies.acts_for(current_user.id, current_bank_id(), clock.today())]
    if not form.idempotency_key.data:
        form.idempotency_key.data = ledger.new_key()
    return form


def _waiting_for(people: list[Member]) -> list[Exchange]:
    """Exchanges in this bank waiting for the answer of someone the proxy acts for."""
    if not people:
        return []
    return list(db.session.scalars(select(Exchange).join(
        Account, Account.id == Exchange.receiver_account_id).where(
        Exchange.status == ExchangeStatus.PENDING, Account.bank_id == current_bank_id(),
        Exchange.awaiting_member_id.in_([m.id for m in people])).order_by(Exchange.id)))


def _page(status: int = 200, name_form=None, record_form=None):
    bank_id, today = current_bank_id(), clock.today()
    record_form = _record_form(record_form)
    people = proxies.acts_for(current_user.id, bank_id, today)
    return render("proxies/mine.html", status=status,
                  arrangements=proxies.arrangements(current_user.id, bank_id, today),
                  acting_for=people, waiting=_waiting_for(people),
                  name_form=name_form or NameForm(), record_form=record_form,
                  action_form=ActionForm())


@bp.route("/account/proxies")
@allow("proxies.own")
def mine():
    return _page()


def _named(form: NameForm, member: Member) -> Member | None:
    """Record the proxy the form names for ``member``, by the current person; the proxy,
    or None with the refusal beside its field."""
    try:
        proxy, _bank = resolve_member(form.proxy.data, current_bank_id())
        proxies.name(member, proxy, current_bank_id(), form.until.data, current_user,
                     clock.today())
    except MemberNotFound as error:
        refuse(form.proxy, error)
    except proxies.ProxyRefused as refused:
        place(form, refused, default="proxy")
    else:
        db.session.commit()
        return proxy
    return None


@bp.route("/account/proxies/name", methods=["POST"])
@allow("proxies.own")
def name():
    form = NameForm()
    if form.validate_on_submit() and (proxy := _named(form, current_user)) is not None:
        flash(_("%(name)s now acts for you. You can end it here at any time.",
                name=proxy.display_name), "success")
        return redirect(url_for("proxies.mine"), 303)
    return _page(422, name_form=form)


def _arrangement(proxy_id: int) -> Proxy:
    arrangement = db.session.get(Proxy, proxy_id) if proxy_id <= MAX_ID else None
    if arrangement is None or arrangement.bank_id != current_bank_id():
        abort(404)
    return arrangement


@bp.route("/account/proxies/<int:proxy_id>/end", methods=["POST"])
@allow("proxies.own")
def end(proxy_id: int):
    button_pressed()
    arrangement = _arrangement(proxy_id)
    refusing = arrangement.agreed_by_id is None and arrangement.recorded_by_id != \
        arrangement.member_id
    try:
        proxies.end(arrangement, current_user)
    except proxies.ProxyRefused:
        abort(404)  # someone else's arrangement: not there for them
    db.session.commit()
    if refusing:
        flash(_("Refused: %(proxy)s will not act for %(name)s.",
                proxy=arrangement.proxy.display_name, name=arrangement.member.display_name),
              "success")
    else:
        flash(_("Ended: %(proxy)s no longer acts for %(name)s.",
                proxy=arrangement.proxy.display_name, name=arrangement.member.display_name),
              "success")
    # Back to the page the button was on (a fixed choice: never a URL from the form).
    back = request.form.get("back")
    if back == "waiting" and may("members.manage"):
        return redirect(url_for("proxies.waiting"), 303)
    if back == "member" and may("members.manage"):
        return redirect(url_for("proxies.name_for", member_id=arrangement.member_id), 303)
    return redirect(url_for("proxies.mine"), 303)


@bp.route("/account/proxies/record", methods=["POST"])
@allow("proxies.own")
def record():
    form = _record_form()
    if form.validate_on_submit():
        member = db.session.get(Member, form.member.data)
        try:
            other, their_bank = resolve_member(form.other.data, current_bank_id(),
                                               other_banks=True, by_email=False)
        except MemberNotFound as error:
            refuse(form.other, error)
        else:
            theirs = ledger.open_account(member, current_bank_id())
            others = ledger.open_account(other, their_bank)
            gave = form.direction.data == "gave"
            try:
                result = ledger.record_exchange(
                    giver=theirs if gave else others, receiver=others if gave else theirs,
                    minutes=form.total_minutes, service_date=form.service_date.data,
                    recorded_by=member, idempotency_key=form.idempotency_key.data,
                    confirm=not gave, category_id=form.category.data or None,
                    description=(form.description.data or "").strip(), proxy=current_user)
            except ledger.LedgerError as error:
                place(form, error, fields={"minutes": "hours", "giver": "other",
                                           "receiver": "other"})
            else:
                flash(_("Recorded for %(name)s: %(time)s.", name=member.display_name,
                        time=result.exchange.hours_label), "success")
                return redirect(url_for("proxies.mine"), 303)
    return _page(422, record_form=form)


@bp.route("/account/proxies/exchanges/<int:exchange_id>/<any(confirm,decline):action>",
          methods=["POST"])
@allow("proxies.own")
def answer(exchange_id: int, action: str):
    button_pressed()
    exchange = db.session.get(Exchange, exchange_id) if exchange_id <= MAX_ID else None
    if exchange is None or exchange.awaiting_member_id is None:
        abort(404)
    member = db.session.get(Member, exchange.awaiting_member_id)
    if proxies.acting(current_user.id, member.id, exchange.receiver.bank_id,
                      clock.today()) is None:
        abort(404)
    step = ledger.confirm_exchange if action == "confirm" else ledger.decline_exchange
    try:
        step(exchange_id, member, proxy=current_user)
    except ledger.LedgerError as refused:
        flash(refused.message, "error")
        return redirect(url_for("proxies.mine"), 303)
    flash(_("Confirmed for %(name)s.", name=member.display_name) if action == "confirm"
          else _("Declined for %(name)s.", name=member.display_name), "success")
    return redirect(url_for("proxies.mine"), 303)


# -- coordinators ---------------------------------------------------------------------


@bp.route("/coordinator/members/<int:member_id>/proxy", methods=["GET", "POST"])
@allow("members.manage")
def name_for(member_id: int):
    member = db.session.get(Member, member_id) if member_id <= MAX_ID else None
    if member is None or member.membership_in(current_bank_id()) is None:
        abort(404)
    if not may_change_status(member, current_user, current_bank_id()):
        abort(403, _("Only an admin records this for a coordinator or admin."))
    form = NameForMemberForm()
    if form.validate_on_submit() and (proxy := _named(form, member)) is not None:
        flash(_("Recorded. A second coordinator agrees before %(proxy)s can act for "
                "%(name)s.", proxy=proxy.display_name, name=member.display_name), "success")
        return redirect(url_for("members.detail", member_id=member.id), 303)
    return render("proxies/name_for.html", status=422 if form.errors else 200, form=form,
                  member=member,
                  arrangements=proxies.arrangements(member.id, current_bank_id(),
                                                    clock.today()),
                  action_form=ActionForm())


@bp.route("/coordinator/proxies")
@allow("members.manage")
def waiting():
    return render("proxies/waiting.html",
                  waiting=proxies.waiting(current_bank_id(), clock.today()),
                  action_form=ActionForm())


@bp.route("/coordinator/proxies/<int:proxy_id>/agree", methods=["POST"])
@allow("members.manage")
def agree(proxy_id: int):
    button_pressed()
    arrangement = _arrangement(proxy_id)
    try:
        proxies.agree(arrangement, current_user)
    except proxies.ProxyRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for("proxies.waiting"), 303)
    db.session.commit()
    flash(_("Agreed: %(proxy)s now acts for %(name)s.", proxy=arrangement.proxy.display_name,
            name=arrangement.member.display_name), "success")
    return redirect(url_for("proxies.waiting"), 303)

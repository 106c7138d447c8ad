"""Exchange pages: record time, confirm or decline it, statements, corrections, activities."""

import contextlib

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from timebank.core import four_eyes
from timebank.core.ledger import statements
from timebank.core.ledger import writer as ledger
from timebank.core.ledger.statements import (
    STATEMENT_CSV_HEADER,
    bank_exchanges_page,
    dashboard_context,
    stale_exchanges_page,
    statement_csv_rows,
    statement_page,
    statement_period,
    totals,
)
from timebank.core.matching.brokering import match_between
from timebank.core.members.lookup import (
    MemberNotFound,
    member_for,
    member_label,
    refuse,
    resolve_member,
)
from timebank.core.models import (
    Account,
    ApprovalKind,
    Exchange,
    ExchangeStatus,
    Member,
)
from timebank.core.models.base import utcnow
from timebank.infra import clock
from timebank.infra.exports import csv_chunks, csv_response
from timebank.infra.extensions import db
from timebank.web.exchanges.forms import (
    GroupForm,
    OnBehalfForm,
    OutcomeForm,
    RecordForm,
    ReverseForm,
)
from timebank.web.forms import ActionForm, PeriodForm, button_pressed, category_choices, place
from timebank.web.htmx import render, render_form, wants_fragment
from timebank.web.i18n import on_paper_for
from timebank.web.permissions import allow, may
from timebank.web.routing import arg_id
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("exchanges", __name__)


PREFILL = ("direction", "other", "giver", "receiver", "description", "category", "match")


def _prepare(form):
    form.category.choices = category_choices()
    if not form.idempotency_key.data:
        form.idempotency_key.data = ledger.new_key()
    if request.method == "GET":
        # A completed match opens this form with the details filled in.
        for name in PREFILL:
            value = request.args.get(name)
            if value and hasattr(form, name):
                field = getattr(form, name)
                with contextlib.suppress(TypeError, ValueError):  # ignore nonsense
                    field.data = field.coerce(value) if hasattr(field, "coerce") else value[:500]
        if hasattr(form, "opened_from") and any(request.args.get(n) for n in PREFILL):
            form.opened_from.data = "link"
    return form


def _needs_a_check(form) -> bool:
    """Time confirmed at once (a payment, or recording for two members) from a form a
    link filled in, not yet checked: the person sees who, and how much, and says yes,
    before anything moves."""
    paying = form.direction.data == "received" if hasattr(form, "direction") else True
    return (form.opened_from.data == "link" and paying
            and request.form.get("checked") != "yes")


def _check_page(form, **who):
    return render("exchanges/check.html", form=form, minutes=form.total_minutes,
                  action=url_for(request.endpoint),
                  posted=[(name, request.form.get(name, "")) for name in form.data
                          if name != "csrf_token"], **who)


def _category_id(form) -> int | None:
    return form.category.data or None


def _apply_error(form, error: ledger.LedgerError, fields: dict[str, str]) -> None:
    """Put a ledger refusal beside the field it concerns (or at the top of the form)."""
    place(form, error, fields=fields)


def _done(exchange: Exchange, created: bool):
    if not created:
        flash(_("That form was already sent; here is the exchange it recorded."), "info")
    elif exchange.status == ExchangeStatus.CONFIRMED:
        flash(_("Recorded and confirmed: %(time)s.", time=exchange.hours_label), "success")
    else:
        flash(_("Recorded %(time)s. It counts once %(name)s confirms.",
                time=exchange.hours_label, name=exchange.receiver.label), "success")
    return redirect(url_for("exchanges.show", exchange_id=exchange.id), 303)


def _record(form, fields: dict[str, str], *, giver: Account, receiver: Account,
            confirm: bool):
    """Record the exchange the form describes; a refusal goes beside its field (None)."""
    try:
        return ledger.record_exchange(
            giver=giver,
            receiver=receiver,
            minutes=form.total_minutes,
            service_date=form.service_date.data,
            recorded_by=current_user,
            idempotency_key=form.idempotency_key.data,
            confirm=confirm,
            category_id=_category_id(form),
            description=(form.description.data or "").strip(),
            match_id=match_between(form.match.data, giver.member_id, receiver.member_id),
        )
    except ledger.LedgerError as error:
        _apply_error(form, error, {"minutes": "hours", "service_date": "service_date", **fields})
        return None


@bp.route("/exchanges/new", methods=["GET", "POST"])
@allow("exchanges.record")
def new():
    form = _prepare(RecordForm())
    if form.validate_on_submit():
        try:
            other, their_bank = resolve_member(form.other.data, current_bank_id(),
                                               other_banks=True, by_email=may("members.manage"))
        except MemberNotFound as error:
            refuse(form.other, error)
        else:
            if _needs_a_check(form):
                return _check_page(form, other=other)
            me = ledger.open_account(current_user, current_bank_id())
            them = ledger.open_account(other, their_bank)
            gave = form.direction.data == "gave"
            result = _record(
                form, {"other": "other", "giver": "other", "receiver": "other"},
                giver=me if gave else them, receiver=them if gave else me,
                # Whoever receives time agrees to pay it: no second step needed.
                confirm=not gave,
            )
            if result is not None:
                return _done(result.exchange, result.created)
    return render_form("exchanges/new.html", form)


@bp.route("/coordinator/exchanges/new", methods=["GET", "POST"])
@allow("exchanges.on_behalf")
def on_behalf():
    form = _prepare(OnBehalfForm())
    if form.validate_on_submit():
        parties = {}
        for name in ("giver", "receiver"):
            try:
                parties[name] = resolve_member(getattr(form, name).data, current_bank_id())[0]
            except MemberNotFound as error:
                refuse(getattr(form, name), error)
        if len(parties) == 2 and _needs_a_check(form):
            return _check_page(form, giver=parties["giver"], receiver=parties["receiver"])
        if len(parties) == 2:
            result = _record(
                form, {"other": "receiver", "giver": "giver", "receiver": "receiver"},
                giver=ledger.open_account(parties["giver"], current_bank_id()),
                receiver=ledger.open_account(parties["receiver"], current_bank_id()),
                confirm=True,  # the coordinator has checked with both sides
            )
            if result is not None:
                return _done(result.exchange, result.created)
    return render_form("exchanges/on_behalf.html", form)


@bp.route("/coordinator/activities/new", methods=["GET", "POST"])
@allow("exchanges.on_behalf")
def group():
    form = _prepare(GroupForm())
    if form.validate_on_submit():
        people, problems = [], []
        for line in form.participants.data.splitlines():
            if line.strip():
                try:
                    people.append(resolve_member(line, current_bank_id())[0])
                except MemberNotFound as error:
                    problems.append(" ".join([error.message, *map(member_label,
                                                                  error.candidates)]))
        if problems:
            form.participants.errors.extend(problems)
        else:
            try:
                made, created = ledger.record_group_activity(
                    participants=people,
                    to_pool=form.direction.data == "to_pool",
                    minutes=form.total_minutes,
                    service_date=form.service_date.data,
                    recorded_by=current_user,
                    idempotency_key=form.idempotency_key.data,
                    category_id=_category_id(form),
                    description=(form.description.data or "").strip(),
                )
            except ledger.SecondNeeded as error:
                db.session.rollback()
                four_eyes.ask(ApprovalKind.POOL, current_bank_id(), current_user,
                              participants=[p.id for p in people],
                              minutes=form.total_minutes,
                              service_date=form.service_date.data.isoformat(),
                              key=form.idempotency_key.data, category_id=_category_id(form),
                              description=(form.description.data or "").strip())
                db.session.commit()
                flash(_("%(why)s The others have been asked; the time is recorded once one "
                        "of them agrees.", why=error.message), "info")
                return redirect(url_for("approvals.waiting"), 303)
            except ledger.LedgerError as error:
                _apply_error(form, error, {"minutes": "hours", "service_date": "service_date",
                                           "participants": "participants"})
            else:
                if created:
                    flash(ngettext("Recorded the activity for %(num)d participant.",
                                   "Recorded the activity for %(num)d participants.",
                                   len(made)), "success")
                else:
                    flash(_("That activity was already recorded."), "info")
                return redirect(url_for("exchanges.activity", activity_id=made[0].activity_id),
                                303)
    return render_form("exchanges/group.html", form)


@bp.route("/coordinator/activities/<activity_id>")
@allow("exchanges.oversee")
def activity(activity_id: str):
    exchanges = statements.activity_exchanges(activity_id, current_bank_id())
    if not exchanges:
        abort(404)
    return render("exchanges/activity.html", exchanges=exchanges)


def _visible_exchange(exchange_id: int) -> Exchange:
    """The exchange if the current member is a party to it, or staff of a bank it involves;
    404 otherwise (the same answer as for an exchange that does not exist)."""
    exchange = db.get_or_404(Exchange, exchange_id)
    if not may("exchanges.view", exchange):
        abort(404)
    return exchange


@bp.route("/exchanges/<int:exchange_id>")
@allow("exchanges.view")
def show(exchange_id: int):
    exchange = _visible_exchange(exchange_id)
    outcome, reversal = statements.outcome_of(exchange), statements.reversal_of(exchange)
    outcome_form = None
    if (
        outcome is None
        and exchange.status == ExchangeStatus.CONFIRMED
        and exchange.reverses_id is None
        and reversal is None
        and exchange.receiver.member_id == current_user.id
    ):
        outcome_form = OutcomeForm()
    return render("exchanges/show.html", exchange=exchange, outcome=outcome,
                  reversal=reversal, outcome_form=outcome_form, action_form=ActionForm())


@bp.route("/exchanges/<int:exchange_id>/<any(confirm,decline,cancel):action>", methods=["POST"])
@allow("exchanges.answer")
def answer(exchange_id: int, action: str):
    _visible_exchange(exchange_id)
    button_pressed()
    error = None
    try:
        if action == "decline":
            exchange = ledger.decline_exchange(exchange_id, current_user,
                                               request.form.get("reason", ""))
        else:
            step = {"confirm": ledger.confirm_exchange, "cancel": ledger.cancel_exchange}[action]
            exchange = step(exchange_id, current_user)
    except ledger.LedgerError as refused:
        error = refused.message
        exchange = db.session.get(Exchange, exchange_id)
    if wants_fragment():
        ctx = dashboard_context(current_user, current_bank_id())
        return render("exchanges/_answered.html", exchange=exchange, error=error,
                      status=409 if error else 200, **ctx)
    if error:
        flash(error, "error")
    else:
        flash({"confirm": _("Exchange confirmed."), "decline": _("Exchange declined."),
               "cancel": _("Exchange cancelled.")}[action], "success")
    back_to_exchange = request.form.get("back") == "show"
    target = (url_for("exchanges.show", exchange_id=exchange_id) if back_to_exchange
              else url_for("main.index"))
    return redirect(target, 303)


@bp.route("/exchanges/<int:exchange_id>/outcome", methods=["POST"])
@allow("exchanges.outcome")
def outcome(exchange_id: int):
    exchange = _visible_exchange(exchange_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            ledger.add_outcome(exchange.id, current_user, form.score.data,
                               (form.text.data or "").strip(), bool(form.share.data))
        except ledger.LedgerError as error:
            place(form, error)
        else:
            flash(_("Thank you for saying what difference it made."), "success")
            return redirect(url_for("exchanges.show", exchange_id=exchange.id), 303)
    return render("exchanges/show.html", status=422, exchange=exchange, outcome=None,
                  reversal=None, outcome_form=form, action_form=ActionForm())


@bp.route("/exchanges/<int:exchange_id>/reverse", methods=["GET", "POST"])
@allow("exchanges.reverse")
def reverse(exchange_id: int):
    exchange = _visible_exchange(exchange_id)
    form = ReverseForm()
    if not form.idempotency_key.data:
        form.idempotency_key.data = ledger.new_key()
    if form.validate_on_submit():
        try:
            result = ledger.reverse_exchange(exchange.id, current_user, form.reason.data,
                                             form.idempotency_key.data)
        except ledger.LedgerError as error:
            _apply_error(form, error, {"reason": "reason"})
        else:
            flash(_("Exchange %(original)s is reversed by exchange %(reversal)s.",
                    original=exchange.id, reversal=result.exchange.id), "success")
            return redirect(url_for("exchanges.show", exchange_id=result.exchange.id), 303)
    return render_form("exchanges/reverse.html", form, exchange=exchange)


@bp.route("/coordinator/exchanges")
@allow("exchanges.oversee")
def recent():
    """All exchanges touching the bank, newest first; ``waiting=1``: those waiting over a
    week for a confirmation (the coordinator's work queue)."""
    before = arg_id("before")
    here = current_bank_id()
    waiting = request.args.get("waiting") == "1"
    if waiting:
        rows, next_before = stale_exchanges_page(here, utcnow(), before)
    else:
        rows, next_before = bank_exchanges_page(here, before)
    return render("exchanges/recent.html", exchanges=rows, waiting=waiting,
                  next_before=next_before)


def _statement_account(member_id: int | None) -> tuple[Member, Account | None]:
    member = member_for(current_user._get_current_object(), member_id, current_bank_id())
    if member is None:
        abort(404)
    return member, ledger.account_of(member, current_bank_id())


@bp.route("/statement")
@bp.route("/coordinator/members/<int:member_id>/statement")
@allow("statements.view")
def statement(member_id: int | None = None):
    member, account = _statement_account(member_id)
    before = arg_id("before")
    lines, next_before = ([], None)
    if account is not None:
        lines, next_before = statement_page(account.id, before, 25)
    return render("exchanges/statement.html", partial="exchanges/_statement_rows.html",
                  member=member, account=account, lines=lines, next_before=next_before,
                  before=before, totals=totals(account) if account else None)


@bp.route("/statement/print")
@bp.route("/coordinator/members/<int:member_id>/statement/print")
@allow("statements.view")
def statement_print(member_id: int | None = None):
    """The whole statement for a period, on paper: name, member number, bank, print date."""
    member, account = _statement_account(member_id)
    form = PeriodForm(request.args)
    if not form.validate():
        return render("exchanges/statement_print.html", status=422, member=member, form=form,
                      account=account, period=None, today=clock.today())
    period = (statement_period(account.id, form.start.data, form.end.data)
              if account is not None else None)
    # Printed for a member, in their language (as their timesheet is).
    with on_paper_for(member, current_bank_id()):
        return render("exchanges/statement_print.html", member=member, account=account,
                      form=form, period=period, today=clock.today())


@bp.route("/statement.csv")
@bp.route("/coordinator/members/<int:member_id>/statement.csv")
@allow("statements.view")
def statement_csv(member_id: int | None = None):
    member, account = _statement_account(member_id)
    rows = statement_csv_rows(account.id if account else None)
    return csv_response(csv_chunks(STATEMENT_CSV_HEADER, rows), f"statement-{member.id}.csv")

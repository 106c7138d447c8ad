"""Events: routes parse, call one function of ``core.events``, render."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from timebank.core import checks
from timebank.core import events as service
from timebank.core.errors import Refused
from timebank.core.models import Bank, Event
from timebank.infra import clock
from timebank.infra.extensions import db
from timebank.web.events.forms import EventForm
from timebank.web.forms import ActionForm, button_pressed, category_choices, place
from timebank.web.htmx import render, render_form
from timebank.web.permissions import allow
from timebank.web.tenancy import BankBlueprint, current_bank_id

bp = BankBlueprint("events", __name__)

FEED_PAST = timedelta(days=30)  # a calendar keeps last month's events
# Events keep the local time the coordinator typed ("10:00 at the hall"), so each "now"
# they are compared with is the local one (clock.now), not UTC.


def _event(event_id: int, own_bank: bool = False) -> Event:
    """An event this bank lists (its own, or an area-wide one of its area); ``own_bank``:
    only one it runs (posting, changing, who came)."""
    found = db.session.get(Event, event_id)
    bank_id = current_bank_id()
    if found is None or bank_id is None:
        abort(404)
    if found.bank_id != bank_id and (own_bank or not found.area_wide
                                     or found.bank_id not in service.area_banks(bank_id)):
        abort(404)
    return found


@bp.route("/events")
@allow("events.read")
def index():
    now = clock.now()
    bank_id = current_bank_id()
    return render("events/index.html", events=service.listed(bank_id, now),
                  past=service.past(bank_id, now, 10) if bank_id else [],
                  mine={e.id: s for e, s in service.of_member(current_user.id, now)}
                  if current_user.is_authenticated else {})


def _calendar(events: list[Event], name: str, filename: str) -> Response:
    body = service.calendar(events, name,
                            lambda e: url_for("events.show", event_id=e.id, _external=True))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.route("/events.ics")
@allow("events.read")
def feed():
    bank_id = current_bank_id()
    bank = db.session.get(Bank, bank_id) if bank_id else None
    events = service.listed(bank_id, clock.now() - FEED_PAST, limit=500)
    return _calendar(events, bank.name if bank else _("Events"), "events.ics")


@bp.route("/events/new", methods=["GET", "POST"])
@allow("events.post")
def new():
    form = EventForm()
    form.category.choices = category_choices(_("None in particular"))
    if form.validate_on_submit():
        try:
            event = service.post(current_user, current_bank_id(), form.values(),
                                 now=clock.now())
        except Refused as refused:
            place(form, refused)
        else:
            flash(_("The event is posted; members can sign up."), "success")
            return redirect(url_for("events.show", event_id=event.id), 303)
    return render_form("events/form.html", form, event=None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@allow("events.post")
def edit(event_id: int):
    event = _event(event_id, own_bank=True)
    form = EventForm(obj=event) if request.method == "GET" else EventForm()
    if request.method == "GET":
        form.category.data = event.category_id or 0
    form.category.choices = category_choices(_("None in particular"))
    if form.validate_on_submit():
        try:
            service.change(event, current_user, form.values(), clock.now())
        except Refused as refused:
            place(form, refused)
        else:
            flash(_("The event is changed; whoever signed up is told."), "success")
            return redirect(url_for("events.show", event_id=event.id), 303)
    return render_form("events/form.html", form, event=event)


@bp.route("/events/<int:event_id>")
@allow("events.read")
def show(event_id: int):
    return _show(_event(event_id))


def _show(event: Event, error: str | None = None, status: int = 200):
    now = clock.now()
    mine = service.signup_of(event, current_user)
    lacking = (checks.missing_for([current_user.id], event.category_id, now.date())
               .get(current_user.id) if current_user.is_authenticated else None)
    return render("events/show.html", event=event, taken=service.taken(event), mine=mine,
                  ideas=service.ideas_of(event), over=event.starts_at < now,
                  ours=event.bank_id == current_bank_id(), lacking=lacking,
                  needed=checks.required(event.category_id),
                  whom=checks.whom_to_ask(event.bank_id), action_form=ActionForm(),
                  error=error, status=status)


@bp.route("/events/<int:event_id>.ics")
@allow("events.read")
def one(event_id: int):
    event = _event(event_id)
    return _calendar([event], event.title, f"event-{event.id}.ics")


@bp.route("/events/<int:event_id>/<any(help,come,leave):action>", methods=["POST"])
@allow("events.join")
def signup(event_id: int, action: str):
    event = _event(event_id)
    button_pressed()
    try:
        if action == "leave":
            service.cancel(event, current_user, clock.now())
            flash(_("You are no longer signed up."), "success")
        else:
            service.sign_up(event, current_user, action == "help", clock.now())
            flash(_("You are signed up to help. Thank you!") if action == "help"
                  else _("You are signed up. See you there!"), "success")
    except Refused as refused:
        return _show(event, refused.message, refused.status)
    return redirect(url_for("events.show", event_id=event.id), 303)


@bp.route("/events/<int:event_id>/attendance", methods=["GET", "POST"])
@allow("events.post")
def attendance(event_id: int):
    """Tick who came: each helper earns the event's time from the community pool."""
    event = _event(event_id, own_bank=True)
    form = ActionForm()
    error = None
    if form.validate_on_submit():
        chosen = request.form.getlist("came", type=int)  # anything not a number is dropped
        try:
            count = service.record_attendance(event, current_user, chosen, clock.now())
        except Refused as refused:
            error = refused.message
        else:
            if count < 0:
                flash(_("Who came was already recorded; nobody is credited twice."), "info")
            elif count:
                flash(ngettext("Recorded. %(num)d helper was credited.",
                               "Recorded. %(num)d helpers were credited.", count), "success")
            elif event.activity_key:
                flash(_("That is more time than one coordinator pays from the community "
                        "pool alone: the others have been asked, and the helpers are "
                        "credited once one of them agrees."), "info")
            else:
                flash(_("Recorded who came."), "success")
            return redirect(url_for("events.show", event_id=event.id), 303)
    return render("events/attendance.html", event=event, people=service.signups(event),
                  form=form, error=error, status=422 if error else 200)

"""Events: posting them, signing up to help or to come, the day-before reminder, who
came, and paying the helpers from the community pool, once.

Co-design sessions are events of a kind (``EventKind.CODESIGN``): their sign-ups are
all helpers, since everyone there takes part in the design.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, vText
from icalendar import Event as CalendarEvent
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from timebank.core import checks, four_eyes
from timebank.core.errors import Refused
from timebank.core.ledger import writer as ledger
from timebank.core.links import bank_url
from timebank.core.models import (
    Approval,
    ApprovalKind,
    ApprovalStatus,
    Bank,
    Event,
    EventIdea,
    EventKind,
    EventSignup,
    Idea,
    Member,
    Membership,
    MemberStatus,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.models.ledger import format_minutes
from timebank.core.models.members import TRADING_ROLES
from timebank.core.notify import notify
from timebank.infra.db import days_between, locked, write_transaction
from timebank.infra.extensions import db

FIELDS = ("title", "purpose", "starts_at", "ends_at", "place", "accessibility", "area_wide",
          "category_id", "helpers_wanted", "helper_minutes", "places")
NEWCOMER_DAYS = 90  # someone who joined this recently is a newcomer at an event
REMIND_BEFORE = timedelta(hours=24)
# Events are posted for the coming years (or, late, for the past year): a date far
# outside is a slip of the keyboard.
WINDOW_BEFORE, WINDOW_AFTER = timedelta(days=366), timedelta(days=5 * 366)


class EventRefused(Refused):
    pass


# -- reading ---------------------------------------------------------------------------


def area_banks(bank_id: int) -> list[int]:
    """The banks of ``bank_id``'s council area (itself alone when it has none)."""
    area = db.session.scalar(select(Bank.area_id).where(Bank.id == bank_id))
    if area is None:
        return [bank_id]
    return list(db.session.scalars(select(Bank.id).where(Bank.area_id == area)))


def listed(bank_id: int | None, since: datetime, *, until: datetime | None = None,
           limit: int = 200) -> list[Event]:
    """The events a bank lists from ``since``: its own and the area-wide ones of its
    area's banks, soonest first."""
    query = select(Event).where(Event.starts_at >= since)
    if until is not None:
        query = query.where(Event.starts_at < until)
    if bank_id is not None:
        banks = area_banks(bank_id)
        query = query.where((Event.bank_id == bank_id)
                            | (Event.area_wide.is_(True) & Event.bank_id.in_(banks)))
    return list(db.session.scalars(query.order_by(Event.starts_at, Event.id).limit(limit)))


def past(bank_id: int, now: datetime, limit: int = 50) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.bank_id == bank_id,
                                                       Event.starts_at < now)
                                   .order_by(Event.starts_at.desc()).limit(limit)))


@dataclass(frozen=True)
class Places:
    helpers: int
    coming: int


def taken(event: Event) -> Places:
    counts = dict(db.session.execute(
        select(EventSignup.helping, func.count()).where(EventSignup.event_id == event.id)
        .group_by(EventSignup.helping)).all())
    return Places(counts.get(True, 0), counts.get(False, 0))


def signups(event: Event) -> list[EventSignup]:
    return list(db.session.scalars(select(EventSignup).where(EventSignup.event_id == event.id)
                                   .order_by(EventSignup.helping.desc(), EventSignup.id)))


def signup_of(event: Event, member: Member | None) -> EventSignup | None:
    if member is None or not member.is_authenticated:
        return None
    return db.session.scalar(select(EventSignup).where(EventSignup.event_id == event.id,
                                                       EventSignup.member_id == member.id))


def ideas_of(event: Event) -> list[Idea]:
    return list(db.session.scalars(
        select(Idea).join(EventIdea, EventIdea.idea_id == Idea.id)
        .where(EventIdea.event_id == event.id).order_by(Idea.title)))


def about_idea(idea_id: int) -> list[Event]:
    return list(db.session.scalars(
        select(Event).join(EventIdea, EventIdea.event_id == Event.id)
        .where(EventIdea.idea_id == idea_id).order_by(Event.starts_at)))


def of_member(member_id: int, since: datetime) -> list[tuple[Event, EventSignup]]:
    """What a member signed up for, from ``since``."""
    return [(event, signup) for event, signup in db.session.execute(
        select(Event, EventSignup).join(EventSignup, EventSignup.event_id == Event.id)
        .where(EventSignup.member_id == member_id, Event.starts_at >= since)
        .order_by(Event.starts_at))]


# -- posting -----------------------------------------------------------------------------


def _check_values(values: dict, now: datetime) -> dict:
    values = {k: values[k] for k in FIELDS if k in values}
    for text in ("title", "purpose", "place", "accessibility"):
        if text in values:
            values[text] = (values[text] or "").strip()
    for line in ("title", "place"):  # one line each (a calendar's fields are lines)
        if line in values and any(ord(c) < 32 for c in values[line]):
            raise EventRefused(_("Keep it to one line."), line)
    for moment in ("starts_at", "ends_at"):
        when = values.get(moment)
        if when is not None and not now - WINDOW_BEFORE <= when <= now + WINDOW_AFTER:
            raise EventRefused(_("Choose a date within the next five years."), moment)
    if values.get("ends_at") and values["ends_at"] <= values["starts_at"]:
        raise EventRefused(_("It must end after it starts."), "ends_at")
    if values.get("helpers_wanted") and not values.get("helper_minutes"):
        raise EventRefused(_("Say how much time each helper earns."), "helper_minutes")
    if values.get("helper_minutes") and not values.get("helpers_wanted"):
        raise EventRefused(_("Say how many helpers are wanted."), "helpers_wanted")
    return values


def post(by: Member, bank_id: int, values: dict, kind: str = EventKind.GATHERING,
         idea_ids: list[int] | tuple = (), now: datetime | None = None) -> Event:
    """A coordinator of ``bank_id`` posts an event (a co-design session: about ideas)."""
    now = now or utcnow()
    event = Event(bank_id=bank_id, created_by_id=by.id, kind=EventKind(kind),
                  created_at=now, **_check_values(values, now))
    db.session.add(event)
    db.session.flush()
    db.session.add_all([EventIdea(event_id=event.id, idea_id=i)
                        for i in dict.fromkeys(idea_ids)])
    audit(by.id, "event.post", "event", event.id, kind=str(kind), ideas=list(idea_ids))
    db.session.commit()
    return event


def change(event: Event, by: Member, values: dict, now: datetime) -> Event:
    """A coordinator changes an event before it happens; whoever signed up is told. A
    kind of help whose checks a signed-up helper lacks is refused, naming them."""
    if event.attendance_at is not None:
        raise EventRefused(_("This event has already taken place."), status=409)
    values = _check_values(values, now)
    helpers = [s.member_id for s in signups(event) if s.helping]
    lacking = checks.missing_for(helpers, values.get("category_id"),
                                 values["starts_at"].date())
    if lacking:
        names = ", ".join(db.session.get(Member, m).display_name for m in lacking)
        raise EventRefused(_("Helpers who signed up lack the checks that kind of help needs "
                             "(%(names)s): ask them to cancel first, or record their "
                             "checks.", names=names), "category")
    with write_transaction():
        event = locked(Event, event.id)  # (not while who came is being recorded)
        if event.attendance_at is not None:
            raise EventRefused(_("This event has already taken place."), status=409)
        moved = values.get("starts_at") != event.starts_at or values.get("place") != event.place
        if values.get("starts_at") != event.starts_at:
            event.reminded_at = None  # a new day: a new reminder
        for name, value in values.items():
            setattr(event, name, value)
        audit(by.id, "event.change", "event", event.id)
    if moved:
        url = bank_url("events.show", event.bank_id, event_id=event.id)
        for signup in signups(event):
            notify(signup.member, _l("“%(title)s” has changed: it is now %(when)s at %(place)s.",
                                     title=event.title, when=_when(event), place=event.place),
                   url, subject=_l("An event you signed up for has changed"),
                   bank_id=event.bank_id, by_text=True)
    db.session.commit()
    return event


class _Later:
    """A value put into words when the news is, in its reader's language (``notify``)."""

    def __init__(self, words, *args):
        self.words, self.args = words, args

    def __str__(self) -> str:
        return self.words(*self.args)


def _when(event: Event) -> _Later:
    return _Later(format_datetime, event.starts_at, "EEEE d MMMM, HH:mm")


# -- signing up --------------------------------------------------------------------------


def _member_of(member: Member, bank_id: int) -> bool:
    """An active trading member of the bank (a membership: not an install-wide role)."""
    membership = member.membership_in(bank_id)
    return (membership is not None and membership.status == MemberStatus.ACTIVE
            and membership.role in TRADING_ROLES)


def may_come(event: Event, member: Member) -> bool:
    """Members of the event's bank; and, when it is area-wide, of any bank in its area
    (unless the event's own bank suspended them)."""
    if _member_of(member, event.bank_id):
        return True
    if member.membership_in(event.bank_id) is not None:
        return False  # waiting, suspended or left there
    return event.area_wide and db.session.scalar(
        select(Membership.id).where(Membership.member_id == member.id,
                                    Membership.bank_id.in_(area_banks(event.bank_id)),
                                    Membership.status == MemberStatus.ACTIVE).limit(1)) \
        is not None


def sign_up(event: Event, by: Member, helping: bool, now: datetime) -> None:
    """One place each, while places are left: the event row is locked while they are
    counted, so two at once cannot both take the last one. Helpers are members of the
    event's bank (its pool pays them) with the checks its kind of help needs."""
    if event.kind == EventKind.CODESIGN:
        helping = True  # everyone at a co-design session takes part
    if helping and event.kind != EventKind.CODESIGN and not event.helpers_wanted:
        raise EventRefused(_("This event is not asking for helpers."), status=409)
    if helping and not _member_of(by, event.bank_id):
        raise EventRefused(_("Only members of the time bank running it can help at it."),
                           status=403)
    if not helping and not may_come(event, by):
        raise EventRefused(_("This event is for members of the time bank running it."),
                           status=403)
    if helping:  # checks valid on the day of the event, not only today
        checks.refuse_unless_checked(by, event.category_id, event.bank_id,
                                     max(now.date(), event.starts_at.date()))
    try:
        with write_transaction():
            event = locked(Event, event.id)
            # Until who came is recorded: people sign up at the door, too.
            if event.attendance_at is not None:
                raise EventRefused(_("This event has already taken place."), status=409)
            existing = db.session.scalar(select(EventSignup).where(
                EventSignup.event_id == event.id, EventSignup.member_id == by.id))
            if existing is not None and existing.helping == helping:
                return
            count = db.session.scalar(select(func.count()).select_from(EventSignup).where(
                EventSignup.event_id == event.id, EventSignup.helping.is_(helping)))
            cap = event.helpers_wanted if helping else event.places
            if cap is not None and count >= cap:
                raise EventRefused(_("Sorry, every helper's place is taken.") if helping
                                   else _("Sorry, every place is taken."), status=409)
            if existing is not None:
                existing.helping = helping  # changed their mind: from coming to helping
            else:
                db.session.add(EventSignup(event_id=event.id, member_id=by.id,
                                           helping=helping, created_at=now))
            audit(by.id, "event.signup", "event", event.id, helping=helping)
    except IntegrityError:
        pass  # the same sign-up sent twice at once: the first stands


def cancel(event: Event, by: Member, now: datetime) -> None:
    with write_transaction():
        event = locked(Event, event.id)
        if event.attendance_at is not None or event.starts_at < now:
            raise EventRefused(_("This event has already taken place."), status=409)
        db.session.execute(delete(EventSignup).where(EventSignup.event_id == event.id,
                                                     EventSignup.member_id == by.id))
        audit(by.id, "event.cancel_signup", "event", event.id)


# -- reminders ---------------------------------------------------------------------------


def remind(now: datetime) -> int:
    """The day before, everyone signed up is reminded (in the site, and by e-mail or text
    as they chose, in their language), once per event. Returns how many were told."""
    told = 0
    due = list(db.session.scalars(select(Event).where(
        Event.reminded_at.is_(None), Event.starts_at > now,
        Event.starts_at <= now + REMIND_BEFORE)))
    for event in due:
        with write_transaction():
            event = locked(Event, event.id)
            if event.reminded_at is not None:
                continue
            event.reminded_at = now
            url = bank_url("events.show", event.bank_id, event_id=event.id)
            today = event.starts_at.date() == now.date()  # (posted less than a day ahead)
            for signup in signups(event):
                if today:
                    what = (_l("You are helping at “%(title)s” today, %(when)s, at %(place)s.",
                               title=event.title, when=_when(event), place=event.place)
                            if signup.helping else
                            _l("You are coming to “%(title)s” today, %(when)s, at %(place)s.",
                               title=event.title, when=_when(event), place=event.place))
                else:
                    what = (_l("You are helping at “%(title)s” tomorrow, %(when)s, at "
                               "%(place)s.", title=event.title, when=_when(event),
                               place=event.place)
                            if signup.helping else
                            _l("You are coming to “%(title)s” tomorrow, %(when)s, at "
                               "%(place)s.", title=event.title, when=_when(event),
                               place=event.place))
                notify(signup.member, what, url,
                       subject=_l("See you today") if today else _l("See you tomorrow"),
                       bank_id=event.bank_id, by_text=True)
                told += 1
    return told


# -- who came ----------------------------------------------------------------------------


def record_attendance(event: Event, by: Member, member_ids: list[int], now: datetime) -> int:
    """Who came: every helper among them earns the event's time from the bank's community
    pool, as one group activity, once; those who came to it are counted. The event is
    claimed first (its row locked, its time of attendance and a payment key set), so the
    form sent again, or a second coordinator's, changes nothing: returns -1 then. If the
    payment never happened (the process stopped between the two), sending it again pays
    under the same key, so still once. Otherwise how many were credited (0: none, or
    waiting for a second coordinator's agreement)."""
    with write_transaction():
        event = locked(Event, event.id)
        if event.attendance_at is not None:
            if not _unpaid(event):
                return -1
            key = event.activity_key or ""
            came = [s for s in signups(event) if s.attended]
        else:
            if event.starts_at.date() > now.date():  # (from its day: the ledger takes
                # no time given on a day still to come)
                raise EventRefused(_("Who came can be recorded from the day of the event."),
                                   status=409)
            came = [s for s in signups(event) if s.member_id in set(member_ids)]
            if not came:
                raise EventRefused(_("Tick at least one person who came."))
            for signup in came:
                signup.attended = True
            event.attendance_at = now
            # Unguessable: a key anyone could predict could be used first, by another
            # bank's coordinator, and the helpers would never be paid (the ledger also
            # checks the bank and the recorder of a key it has seen).
            key = f"event-{event.id}-{secrets.token_urlsafe(24)}"
            if event.helper_minutes and any(s.helping for s in came):
                event.activity_key = key
            audit(by.id, "event.attendance", "event", event.id,
                  came=sorted(s.member_id for s in came))
        helpers = sorted((s.member for s in came if s.helping), key=lambda m: m.id)
    if not (helpers and event.helper_minutes):
        return 0
    return _pay(event, by, helpers, key, now)


def _unpaid(event: Event) -> bool:
    """Claimed for a payment that was never made, nor is waiting for a second
    coordinator: the process stopped between the claim and the ledger's write."""
    if not event.activity_key or ledger.activity_exchanges(event.activity_key):
        return False
    waiting = db.session.scalars(select(Approval).where(
        Approval.bank_id == event.bank_id, Approval.kind == ApprovalKind.POOL,
        Approval.status == ApprovalStatus.PENDING))
    return not any((a.payload or {}).get("event_id") == event.id for a in waiting)


def _pay(event: Event, by: Member, helpers: list[Member], key: str, now: datetime) -> int:
    description = f"{event.kind_word}: {event.title}"[:200]
    try:
        made, _created = ledger.record_group_activity(
            participants=helpers, to_pool=True, minutes=event.helper_minutes,
            service_date=event.starts_at.date(), recorded_by=by, idempotency_key=key,
            category_id=event.category_id, description=description, bank_id=event.bank_id,
            today=now.date())
    except ledger.SecondNeeded:
        # More than one coordinator pays alone: the helpers are paid when a second
        # coordinator agrees (approvals).
        four_eyes.ask(ApprovalKind.POOL, event.bank_id, by,
                      participants=[m.id for m in helpers], minutes=event.helper_minutes,
                      service_date=event.starts_at.date().isoformat(), key=key,
                      category_id=event.category_id, description=description,
                      event_id=event.id)
        db.session.commit()
        return 0
    except Exception:
        # Nothing was credited (the ledger writes all or nothing): who came may be
        # recorded again, rather than the event being left claimed and unpaid.
        db.session.rollback()
        release_attendance(event.id)
        db.session.commit()
        raise
    credited = {ex.giver.member_id for ex in made}
    url = bank_url("events.show", event.bank_id, event_id=event.id)
    for helper in helpers:
        if helper.id in credited:
            notify(helper, _l("Thank you for helping at “%(title)s”: %(hours)s were added "
                              "to your account.", title=event.title,
                              hours=_Later(format_minutes, event.helper_minutes)), url,
                   bank_id=event.bank_id, by_text=True)
    db.session.commit()
    return len(made)


def release_attendance(event_id: int) -> None:
    """A payment a second coordinator did not agree to, or the pool could not make: who
    came may be recorded again (nobody was paid). Caller commits."""
    event = db.session.get(Event, event_id)
    if event is not None:
        event.activity_key = None
        event.attendance_at = None
        for signup in db.session.scalars(select(EventSignup).where(
                EventSignup.event_id == event_id)):
            signup.attended = False


def mark_attended(event_id: int, credited: set[int]) -> None:
    """After a second coordinator agreed: the helpers the ledger paid. Caller commits."""
    for signup in db.session.scalars(select(EventSignup).where(
            EventSignup.event_id == event_id, EventSignup.helping.is_(True))):
        signup.attended = signup.member_id in credited


# -- reports -----------------------------------------------------------------------------


def reach(bank_ids: list[int], since: datetime, until: datetime) -> dict[str, int]:
    """Events held, distinct people who came (helping or not), and newcomers among them:
    those who had joined the bank within ``NEWCOMER_DAYS`` before the event. One
    statement (a report reads it beside many others)."""
    held = (select(func.count()).select_from(Event)
            .where(Event.bank_id.in_(bank_ids), Event.attendance_at.is_not(None),
                   Event.starts_at.between(since, until)).scalar_subquery())
    came = (select(EventSignup.member_id).join(Event, Event.id == EventSignup.event_id)
            .where(Event.bank_id.in_(bank_ids), EventSignup.attended.is_(True),
                   Event.starts_at.between(since, until)))
    people = select(func.count(func.distinct(came.subquery().c.member_id))).scalar_subquery()
    newcomers = came.join(Membership, (Membership.member_id == EventSignup.member_id)
                          & (Membership.bank_id == Event.bank_id)).where(
        days_between(Event.starts_at, Membership.created_at) <= NEWCOMER_DAYS)
    new = select(func.count(func.distinct(newcomers.subquery().c.member_id))).scalar_subquery()
    row = db.session.execute(select(held, people, new)).one()
    return {"events": row[0] or 0, "people": row[1] or 0, "newcomers": row[2] or 0}


# -- iCalendar ---------------------------------------------------------------------------


def calendar(events: list[Event], name: str, url_of) -> bytes:
    """An RFC 5545 calendar of these events; ``url_of(event)`` is its page's full URL.
    Start and end are "floating" local times, as the coordinator typed them: 18:30 at
    the hall is 18:30 on every phone, whatever zone it is set to."""
    cal = Calendar()
    cal.add("prodid", "-//timebank//events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", vText(name))  # (escaped: a bare value would not be)
    for event in events:
        item = CalendarEvent()
        link = url_of(event)
        item.add("uid", f"event-{event.id}@{link.split('/')[2]}")
        item.add("dtstamp", event.created_at.replace(tzinfo=UTC))
        item.add("dtstart", event.starts_at)
        item.add("dtend", event.ends_at or event.starts_at + timedelta(hours=2))
        item.add("summary", event.title)
        item.add("location", event.place)
        described = [event.purpose]
        if event.accessibility:
            described.append(_("Access: %(how)s", how=event.accessibility))
        item.add("description", "\n\n".join(d for d in described if d))
        item.add("url", link)
        cal.add_component(item)
    return cal.to_ical()



"""Data rights: a member downloads what is stored about them, and asks for erasure.

Erasure replaces who the person was (name, addresses, phone, location, free texts)
and keeps what they did: their accounts, entries and exchanges stay, so every
balance still adds up and ``check-ledger`` passes. Exchange records themselves are
never edited (the ledger's rule), so their short descriptions stay.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BindParameter, Integer, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from timebank.core import snapshots
from timebank.core.auth import end_sessions
from timebank.core.errors import Refused
from timebank.core.links import bank_url
from timebank.core.models import (
    Account,
    Approval,
    ApprovalStatus,
    Asset,
    AssetChange,
    AssetReview,
    AssetStatus,
    AuditEvent,
    Bank,
    EventSignup,
    Exchange,
    GeocodeCache,
    Idea,
    IdeaAnswer,
    IdeaComment,
    IdeaRating,
    IdeaRevision,
    IdeaSupport,
    Listing,
    ListingStatus,
    Match,
    MatchMessage,
    Member,
    MemberCheck,
    Membership,
    MemberStatus,
    Notification,
    OutboxMessage,
    Outcome,
    Proxy,
    QuietContact,
    TextCode,
    TextMessage,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.notify import notify
from timebank.infra import cache, geo
from timebank.infra.db import Lists, commit_keeping_loaded, end_reads, like_pattern
from timebank.infra.extensions import db

FORMER = "Former member"  # stored; pages show it in their own language
ERASED_TEXT = "(erased)"
PROFILE = ("email", "pending_email", "display_name", "neighbourhood", "bio", "skills",
           "availability", "phone", "address", "latitude", "longitude", "language",
           "email_preference", "matching_opt_out", "findable_elsewhere", "share_contact",
           "directory_contact", "created_at", "email_verified_at", "approved_at",
           "erasure_requested_at")


class RightsError(Refused):
    pass


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj, names) -> dict:
    return {name: _plain(getattr(obj, name)) for name in names}


CHUNK = 64 * 1024  # characters sent at a time
LONG_HISTORY = 1000  # exchanges from which a download's long lists are read in batches


def export(member: Member, by: Member | None = None) -> Iterator[str]:
    """Everything stored about ``member``, and nothing about anyone else, as one JSON
    document written as it is read: its first bytes leave at once and memory stays flat
    however long the history (rows are read in batches, a server-side cursor on
    PostgreSQL). Other people appear only as "another member" (the statement CSV names
    them as the statement page does). The download is audited before it starts."""
    mid = member.id
    session = db.session()
    audit(by.id if by else mid, "member.export", "member", mid)
    commit_keeping_loaded(session)  # (their details as read: not read again)
    # This session, not whichever the response's streaming finds: it carries where this
    # request reads from (a read replica, say: infra/db.py).
    return _chunks(mid, session)


def _chunks(mid: int, session: Session) -> Iterator[str]:
    try:
        member = session.get(Member, mid)
        assert member is not None
        out: list[str] = []
        size = 0
        for piece in _document(member, session):
            out.append(piece)
            size += len(piece)
            if size >= CHUNK:
                yield "".join(out)
                out, size = [], 0
        yield "".join(out)
    finally:
        # It only read: end its transaction (a commit keeps the prepared statements),
        # return its connections.
        end_reads(session)
        session.rollback()


def _document(member: Member, session: Session) -> Iterator[str]:
    first = True
    yield "{"
    for key, value in _sections(member, session):
        yield ("" if first else ", ") + json.dumps(key) + ": "
        first = False
        if isinstance(value, list | dict | str | int | None):
            yield _ENCODE(value)
            continue
        yield "["
        for n, row in enumerate(value):
            yield ("" if n == 0 else ", ") + _ENCODE(row)
        yield "]"
    yield "}"


def _read(session: Session, query, shape=None, many: bool = False,
          params: dict | None = None) -> Iterator[dict]:
    """Plain rows (no objects); ``many``: what can grow with a long history, in batches
    from a server-side cursor (three round trips where one does for a short list);
    ``shape`` turns each row into what is shown."""
    if many:
        query = query.execution_options(yield_per=1000)
    for row in session.execute(query, params):
        found = row._asdict()
        yield shape(found) if shape else found


# One encoder for every row: dates as ISO text, status words as their values.
def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


_ENCODE = json.JSONEncoder(ensure_ascii=False, default=_json_value).encode


_MID: BindParameter[int] = bindparam("mid", type_=Integer)
_ABOUT_THEM = (AuditEvent.object_type == "member") & (AuditEvent.object_id == _MID)
_TRAIL = or_(AuditEvent.actor_id == _MID, _ABOUT_THEM)
_LONG_TRAIL = (select(AuditEvent.id).where(_TRAIL).order_by(AuditEvent.id)
               .offset(bindparam("long")).limit(1).scalar_subquery())
_HISTORY = (select(Account.id, Account.exchanges_given + Account.exchanges_received,
                   _LONG_TRAIL).where(Account.member_id == _MID))
_GROWS = ("exchanges", "notifications", "emails_sent_to_you", "texts")  # with the history


@functools.cache
def _lists() -> Lists:
    """Every list of a data download, in the document's order (made once: ``Lists``)."""
    ex = Exchange
    accounts: BindParameter[int] = bindparam("accounts", type_=Integer, expanding=True)
    return Lists({
        "memberships": select(
            Bank.name.label("bank"), Membership.role, Membership.status,
            Membership.status_reason, Membership.created_at, Membership.approved_at,
            Membership.terms_accepted_at, Membership.bank_id)
        .join(Bank, Bank.id == Membership.bank_id).where(Membership.member_id == _MID)
        .order_by(Membership.id),
        "accounts": select(Bank.name.label("bank"), Account.balance, Account.floor, Account.id)
        .join(Bank, Bank.id == Account.bank_id).where(Account.member_id == _MID)
        .order_by(Account.id),
        # (An IN list of their accounts finds the exchanges through their indexes, where
        # a subquery of them had PostgreSQL filter the whole table.)
        "exchanges": select(
            ex.giver_account_id, ex.recorded_by_id, ex.id, ex.minutes, ex.service_date,
            ex.status, ex.description, ex.reason, ex.created_at, ex.settled_at)
        .where(or_(ex.giver_account_id.in_(accounts), ex.receiver_account_id.in_(accounts)))
        .order_by(ex.id),
        "outcomes_you_gave": select(
            Outcome.exchange_id, Outcome.score, Outcome.text, Outcome.share_consent,
            Outcome.created_at).where(Outcome.author_id == _MID).order_by(Outcome.id),
        "listings": select(
            Listing.id, Listing.kind, Listing.title, Listing.description, Listing.status,
            Listing.expires_on, Listing.created_at).where(Listing.member_id == _MID)
        .order_by(Listing.id),
        "introductions": select(
            Match.requester_id, Match.id, Match.status, Match.note, Match.created_at,
            Match.completed_at).where(or_(Match.requester_id == _MID, Match.helper_id == _MID))
        .order_by(Match.id),
        "messages_you_wrote": select(
            MatchMessage.match_id, MatchMessage.body, MatchMessage.created_at)
        .where(MatchMessage.author_id == _MID).order_by(MatchMessage.id),
        "assets_you_suggested": select(Asset.id, Asset.name, Asset.status, Asset.created_at)
        .where(Asset.submitted_by_id == _MID).order_by(Asset.id),
        "asset_reviews": select(
            AssetReview.asset_id, AssetReview.still_there, AssetReview.welcoming,
            AssetReview.accessible, AssetReview.comment, AssetReview.created_at)
        .where(AssetReview.member_id == _MID).order_by(AssetReview.id),
        "ideas_you_proposed": select(
            Idea.id, Idea.title, Idea.need, Idea.builds_on, Idea.takes, Idea.status,
            Idea.answer, Idea.show_name, Idea.created_at)
        .where(Idea.proposer_id == _MID).order_by(Idea.id),
        "idea_comments": select(IdeaComment.idea_id, IdeaComment.body, IdeaComment.created_at)
        .where(IdeaComment.author_id == _MID).order_by(IdeaComment.id),
        "ideas_you_supported": select(IdeaSupport.idea_id).where(IdeaSupport.member_id == _MID)
        .order_by(IdeaSupport.id),
        "idea_ratings": select(
            IdeaRating.idea_id, IdeaRating.benefits, IdeaRating.builds, IdeaRating.together,
            IdeaRating.updated_at).where(IdeaRating.member_id == _MID)
        .order_by(IdeaRating.id),
        "events": select(
            EventSignup.event_id, EventSignup.helping, EventSignup.attended,
            EventSignup.created_at).where(EventSignup.member_id == _MID)
        .order_by(EventSignup.id),
        # Safeguarding checks: only that one was seen, when, and until when.
        "safeguarding_checks": select(
            MemberCheck.kind, MemberCheck.done_on, MemberCheck.expires_on,
            MemberCheck.recorded_at).where(MemberCheck.member_id == _MID)
        .order_by(MemberCheck.id),
        # What the bank did to bring them back when they went quiet, and its notes.
        "contacts_while_quiet": select(
            QuietContact.kind, QuietContact.note, QuietContact.created_at)
        .where(QuietContact.member_id == _MID).order_by(QuietContact.id),
        "notifications": select(
            Notification.created_at, Notification.read_at, Notification.text)
        .where(Notification.member_id == _MID).order_by(Notification.id),
        "emails_sent_to_you": select(
            OutboxMessage.to_email, OutboxMessage.created_at, OutboxMessage.sent_at,
            OutboxMessage.subject, OutboxMessage.body)
        .where(OutboxMessage.member_id == _MID).order_by(OutboxMessage.id),
        "exchanges_you_recorded_for_others": select(
            ex.id, ex.recorded_by_id, ex.minutes, ex.service_date, ex.status, ex.via)
        .where(ex.proxy_id == _MID).order_by(ex.id),
        "texts": select(
            TextMessage.direction, TextMessage.number, TextMessage.command,
            TextMessage.status, TextMessage.created_at, TextMessage.sent_at,
            TextMessage.body).where(TextMessage.member_id == _MID).order_by(TextMessage.id),
        "proxies": select(
            Proxy.member_id, Proxy.proxy_id, Proxy.bank_id, Proxy.until, Proxy.created_at,
            Proxy.ended_at).where(or_(Proxy.member_id == _MID, Proxy.proxy_id == _MID))
        .order_by(Proxy.id),
        "reasons_recorded_about_you": select(
            AuditEvent.action, AuditEvent.detail, AuditEvent.created_at)
        .where(_ABOUT_THEM).order_by(AuditEvent.id),
        "activity_log": select(
            AuditEvent.action, AuditEvent.object_type, AuditEvent.created_at)
        .where(_TRAIL).order_by(AuditEvent.id),
        # What the geocoder made of their address (none: no address, no row).
        "geocoder_answer": select(GeocodeCache.display_name)
        .where(GeocodeCache.query == bindparam("address")),
    })


def _sections(member: Member, session: Session) -> Iterator[tuple[str, Any]]:
    mid = member.id
    # How long the history is decides how it is read: a long one (the ledger counts each
    # account's exchanges; a coordinator's trail grows with their work) in batches from a
    # server-side cursor, a short one with every other list in one statement.
    params: dict[str, Any] = {"mid": mid, "long": LONG_HISTORY}
    theirs = session.execute(_HISTORY, params).all()
    params["accounts"] = [row[0] for row in theirs]
    params["address"] = geo.normalise_query(member.address) if member.address else None
    long_history = sum(int(row[1] or 0) for row in theirs) >= LONG_HISTORY
    trail_is_long = (theirs[0][2] if theirs  # (no account: an admin's, the council's)
                     else session.scalar(select(_LONG_TRAIL), params)) is not None
    leave_out = frozenset((_GROWS if long_history else ())
                          + (("activity_log",) if trail_is_long else ()))
    lists = _lists()
    read = lists.read(session, params, leave_out)

    def rows(name: str, shape=None) -> Iterator[dict] | list[dict]:
        found = (read[name] if name in read
                 else _read(session, lists.queries[name], many=True, params=params))
        return found if shape is None else (shape(row) for row in found)

    memberships = read["memberships"]
    banks = tuple(sorted({row.pop("bank_id") for row in memberships}))
    mine = {row.pop("id") for row in read["accounts"]}
    others = _without_others(member, session, banks)

    def exchange(row: dict) -> dict:
        return {"you": "gave" if row.pop("giver_account_id") in mine else "received",
                "recorded_by_you": row.pop("recorded_by_id") == mid, **row}

    def introduction(row: dict) -> dict:
        return {"you_are": "requester" if row.pop("requester_id") == mid else "helper", **row}

    def unnamed(*keys: str):
        def shape(row: dict) -> dict:
            return {**row, **{key: others()(row[key]) for key in keys}}
        return shape

    yield "exported_at", utcnow().isoformat()  # (JSON ready: the rest is encoded as sent)
    yield "profile", _row(member, PROFILE)
    yield "memberships", memberships
    yield "accounts", read["accounts"]
    yield "exchanges", rows("exchanges", exchange)
    for name in ("outcomes_you_gave", "listings"):
        yield name, rows(name)
    yield "introductions", rows("introductions", introduction)
    for name in ("messages_you_wrote", "assets_you_suggested", "asset_reviews",
                 "ideas_you_proposed", "idea_comments"):
        yield name, rows(name)
    yield "ideas_you_supported", [row["idea_id"] for row in read["ideas_you_supported"]]
    for name in ("idea_ratings", "events", "safeguarding_checks", "contacts_while_quiet"):
        yield name, rows(name)
    yield "notifications", rows("notifications", unnamed("text"))
    yield "emails_sent_to_you", rows("emails_sent_to_you", unnamed("subject", "body"))
    yield "your_mobile", _row(member, ("mobile", "mobile_verified_at", "mobile_set_by_id",
                                       "text_preference", "texts_stopped_at"))
    yield "exchanges_you_recorded_for_others", rows("exchanges_you_recorded_for_others")
    yield "texts", rows("texts", unnamed("body"))
    yield "proxies", rows("proxies")
    yield "reasons_recorded_about_you", (
        {"action": e["action"], "reason": e["detail"].get("reason"),
         "created_at": e["created_at"]}
        for e in read["reasons_recorded_about_you"]
        if isinstance(e["detail"], dict) and e["detail"].get("reason"))
    yield "where_we_place_you", _placed(member, read.get("geocoder_answer"))
    yield "activity_log", rows("activity_log")


def _without_others(member: Member, session: Session, banks: tuple[int, ...]):
    """A function giving the function that replaces other members' names in a text
    written to ``member`` (their notifications and e-mails) with "another member": the
    download is theirs, not their neighbours'. The names are read when first needed."""
    made: list = []

    def replacer():
        if not made:
            made.append(_replacer(member, session, banks))
        return made[0]

    return replacer


def _replacer(member: Member, session: Session, banks: tuple[int, ...]):
    pattern = cache.built(cache.CANDIDATES, ("member names", banks),
                          lambda _version: _names_pattern(session, banks),
                          lambda found: 64 * len(found.pattern) if found else 64)
    if pattern is None:
        return lambda text: text
    own = (member.display_name or "").strip()
    # Their own name stays (it is theirs); every other member's of their banks goes.
    return lambda text: pattern.sub(
        lambda found: found.group(0) if found.group(0) == own else "another member",
        text or "")


def _names_pattern(session: Session, banks: tuple[int, ...]) -> re.Pattern | None:
    """Every name of 3 letters or more of the members of these banks, as one pattern
    (longest first): built once per change of members' names and worker, since a town's
    5,000 names took 60 ms to read and compile on each download."""
    names = {name.strip() for name in session.scalars(
        select(Member.display_name).join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id.in_(banks))) if name and len(name.strip()) >= 3}
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?!\w)")


def _placed(member: Member, geocoder_answer: list[dict] | None) -> dict:
    """The address they gave, where the geocoder put it (``geocoder_answer``: what it said
    of it, read with the rest), and the rounded point others see."""
    found = {"address": member.address, "latitude": member.latitude,
             "longitude": member.longitude, "shown_to_others_at": None}
    if member.latitude is not None:
        found["shown_to_others_at"] = {"latitude": member.public_latitude,
                                       "longitude": member.public_longitude}
    if member.address:
        found["geocoder_answer"] = (geocoder_answer[0]["display_name"] if geocoder_answer
                                    else None)
    return found


def request_erasure(member: Member, password: str) -> None:
    """Ask this member's coordinators to erase them (they check nothing is outstanding)."""
    if not member.check_password(password):
        raise RightsError(_("That is not your current password."), "password")
    if member.erasure_requested_at is None:
        member.erasure_requested_at = utcnow()
        audit(member.id, "member.erasure_requested", "member", member.id)

        for bank_id, coordinator in _coordinators_of(member):
            # Each coordinator reads it in their own language, with a link into their bank.
            notify(coordinator, _l("%(name)s asked for their personal details to be erased.",
                                   name=member.display_name),
                   bank_url("members.detail", bank_id, member_id=member.id), bank_id=bank_id)
    db.session.commit()


def record_request(member: Member, by: Member) -> None:
    """A coordinator notes a request made on paper or by phone (members without a log-in
    ask that way); another coordinator, or the same one, then confirms it."""
    if member.erasure_requested_at is None:
        member.erasure_requested_at = utcnow()
        audit(by.id, "member.erasure_requested", "member", member.id, on_behalf=True)
    db.session.commit()


def _coordinators_of(member: Member) -> list[tuple[int, Member]]:
    bank_ids = select(Membership.bank_id).where(Membership.member_id == member.id)
    rows = db.session.execute(
        select(Membership.bank_id, Member).join(Member, Member.id == Membership.member_id)
        .where(Membership.bank_id.in_(bank_ids), Membership.role == "coordinator",
               Membership.status == MemberStatus.ACTIVE, Member.id != member.id)).all()
    return [(bank_id, coordinator) for bank_id, coordinator in rows]


# Every free text anyone else wrote, or the site wrote to anyone else, that may name the
# person: their name becomes "Former member", their e-mail, phone and addresses go. (An
# exchange's own description and reason are the ledger's record, never edited once
# confirmed; see SECURITY.md.)
TEXTS = (
    (Notification, ("text",)), (OutboxMessage, ("subject", "body")), (TextMessage, ("body",)),
    (Match, ("note",)), (MatchMessage, ("body",)), (Outcome, ("text",)),
    (Idea, ("title", "need", "builds_on", "takes", "answer")), (IdeaAnswer, ("answer",)),
    (IdeaRevision, ("title", "need", "builds_on", "takes")), (IdeaComment, ("body",)),
    (Asset, ("name", "description", "address_1", "email", "phone", "run_by",
             "rejection_reason")),
    (AssetReview, ("comment",)), (AssetChange, ("note",)),
    (Listing, ("title", "description")),
    (Membership, ("status_reason",)),
)


def _identifiers(member: Member) -> list[tuple[str, str]]:
    """(what the person was called or reached by, what replaces it), longest first: with
    any address staff ever asked a log-in at for them."""
    found = [(member.display_name, FORMER)]
    asked = [a.payload.get(key) for a in db.session.scalars(
        select(Approval).where(Approval.member_id == member.id)) if a.payload
        for key in ("email", "mobile")]
    found += [(value, ERASED_TEXT) for value in (member.email, member.pending_email,
                                                  member.phone, member.address, member.mobile,
                                                  *asked)
              if value]
    return sorted({(v.strip(), r) for v, r in found if v and len(v.strip()) >= 3},
                  key=lambda pair: -len(pair[0]))


def _scrub_elsewhere(member: Member) -> None:
    """Other people's notifications, e-mails, notes, answers, comments, messages and the
    assets the person suggested keep their sense but lose the person."""
    for value, replacement in _identifiers(member):
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
        like = like_pattern(value.lower())
        for model, columns in TEXTS:
            matches = or_(*(func.lower(getattr(model, c)).like(like, escape="\\")
                            for c in columns))
            for row in db.session.scalars(select(model).where(matches)):
                for column in columns:
                    text = getattr(row, column)
                    if text:
                        setattr(row, column, pattern.sub(replacement, text))
    db.session.flush()


def _forget_bytes() -> None:
    """SQLite keeps a deleted value in freed pages and in the write-ahead log until they
    are reused: copy the database afresh and empty the log, so the bytes are gone from
    the files too. (PostgreSQL's dumps and replicas carry live rows only.)"""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside SQLAlchemy's BEGIN: VACUUM runs in none
    try:
        cursor = raw.cursor()
        for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM",
                          "PRAGMA wal_checkpoint(TRUNCATE)"):
            cursor.execute(statement)
        cursor.close()
    finally:
        raw.close()


def erase(member: Member, by: Member) -> None:
    """Anonymise ``member`` (a coordinator confirms a request; never their own)."""
    if member.id == by.id:
        raise RightsError(_("Another coordinator must confirm your own erasure."))
    if member.erasure_requested_at is None:
        raise RightsError(_("%(name)s has not asked to be erased.", name=member.display_name))
    if member.erased_at is not None:
        return
    # Every bank the person belongs to must agree (their hours there may be outstanding).
    banks_of = set(db.session.scalars(select(Membership.bank_id).where(
        Membership.member_id == member.id)))
    if not by.is_admin and any(by.role_in(b) != "coordinator" for b in banks_of):
        raise RightsError(_("%(name)s belongs to another time bank too: an admin confirms "
                            "this erasure.", name=member.display_name))
    _scrub_elsewhere(member)
    # Requests about them (a log-in at some address, a limit) end, and forget the address.
    for approval in db.session.scalars(select(Approval).where(Approval.member_id == member.id)):
        if approval.status == ApprovalStatus.PENDING:
            approval.status, approval.decided_by_id = ApprovalStatus.REFUSED, by.id
            approval.decided_at = utcnow()
        if "email" in (approval.payload or {}):
            approval.payload = {**approval.payload, "email": ERASED_TEXT}
    if member.address:
        geo.forget(member.address)
    # A place they suggested at their own home leaves the map with its address and
    # contact; their reports on assets lose their words.
    db.session.execute(update(Asset).where(Asset.submitted_by_id == member.id,
                                           Asset.at_home)
                       .values(status=AssetStatus.ARCHIVED, address_1="", postal_code="",
                               email="", phone="", run_by="", latitude=None,
                               longitude=None))
    cache.bump(cache.REGISTER)  # a Core update passes the ORM's watch
    db.session.execute(update(Asset).where(Asset.submitted_by_id == member.id)
                       .values(submitted_by_id=None))
    db.session.execute(update(AssetChange).where(AssetChange.member_id == member.id)
                       .values(member_id=None, note=""))
    member.email, member.pending_email = f"erased-{member.id}@invalid", None
    member.display_name = FORMER
    for name in ("neighbourhood", "bio", "skills", "availability", "phone", "address"):
        setattr(member, name, "")
    for name in ("latitude", "longitude", "public_latitude", "public_longitude", "language"):
        setattr(member, name, None)
    member.set_password(secrets.token_urlsafe(32))  # nobody knows it: no way back in
    member.email_preference = "never"
    member.matching_opt_out, member.findable_elsewhere, member.share_contact = True, False, False
    member.status = MemberStatus.SUSPENDED
    member.erased_at = utcnow()
    end_sessions(member)
    db.session.execute(update(Membership).where(Membership.member_id == member.id)
                       .values(status=MemberStatus.SUSPENDED, status_reason=""))
    # Reasons written about them on the trail (a suspension's, say) go with the rest.
    for event in db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "member", AuditEvent.object_id == member.id)):
        if isinstance(event.detail, dict) and event.detail.get("reason"):
            event.detail = {**event.detail, "reason": ERASED_TEXT}
    db.session.execute(update(Listing).where(Listing.member_id == member.id)
                       .values(title=ERASED_TEXT, description="", status=ListingStatus.CLOSED,
                               latitude=None, longitude=None))
    cache.bump(cache.CANDIDATES)  # the Core updates above pass the ORM's watch
    db.session.execute(update(MatchMessage).where(MatchMessage.author_id == member.id)
                       .values(body=ERASED_TEXT))
    db.session.execute(update(Match).where(
        or_(Match.requester_id == member.id, Match.helper_id == member.id)).values(note=""))
    db.session.execute(update(Outcome).where(Outcome.author_id == member.id)
                       .values(text="", share_consent=False))
    db.session.execute(update(AssetReview).where(AssetReview.member_id == member.id)
                       .values(comment=""))
    db.session.execute(update(Notification).where(Notification.member_id == member.id)
                       .values(text=ERASED_TEXT))
    # Their words on ideas: the ideas they proposed stay (others supported and answered
    # them) but lose their text, earlier versions and place; their comments go.
    mine = select(Idea.id).where(Idea.proposer_id == member.id)
    db.session.execute(update(Idea).where(Idea.proposer_id == member.id).values(
        title=ERASED_TEXT, need=ERASED_TEXT, builds_on="", takes="", latitude=None,
        longitude=None, show_name=False))
    db.session.execute(update(IdeaRevision).where(IdeaRevision.idea_id.in_(mine)).values(
        title=ERASED_TEXT, need=ERASED_TEXT, builds_on="", takes=""))
    db.session.execute(update(IdeaComment).where(IdeaComment.author_id == member.id)
                       .values(body=ERASED_TEXT))
    # Safeguarding checks are about them, and go with them; so do places at events yet
    # to come (who came to past ones stays, anonymous, in the counts).
    db.session.execute(delete(MemberCheck).where(MemberCheck.member_id == member.id))
    db.session.execute(update(QuietContact).where(QuietContact.member_id == member.id)
                       .values(note=""))  # (kept, without words, for "came back")
    db.session.execute(delete(EventSignup).where(
        EventSignup.member_id == member.id, EventSignup.attended.is_(False)))
    # Sent and unsent e-mails held their address and words; none goes out any more.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.member_id == member.id))
    # So did their texts, both ways, and the codes texted to them; the mobile goes, and
    # nobody acts for them or through them any more.
    db.session.execute(delete(TextMessage).where(TextMessage.member_id == member.id))
    db.session.execute(delete(TextCode).where(or_(TextCode.member_id == member.id,
                                                  TextCode.acting_for_id == member.id)))
    member.mobile = member.mobile_verified_at = member.mobile_set_by_id = None
    member.text_preference = "never"
    db.session.execute(update(Proxy).where(
        or_(Proxy.member_id == member.id, Proxy.proxy_id == member.id),
        Proxy.ended_at.is_(None)).values(ended_at=utcnow(), ended_by_id=by.id))
    for approval in db.session.scalars(select(Approval).where(Approval.member_id == member.id)):
        if "mobile" in (approval.payload or {}):
            approval.payload = {**approval.payload, "mobile": ERASED_TEXT}
    member.forget_memberships()
    # Kept reports and work queues may name them: every worker works them out afresh.
    cache.bump(cache.ERASED)
    audit(by.id, "member.erased", "member", member.id)
    db.session.commit()
    _forget_bytes()
    snapshots.forget()  # (what named them goes from this worker's memory at once)

"""Data rights: a member downloads what is stored about them, and asks for erasure.

Erasure replaces who the person was (name, addresses, phone, location, free texts)
and keeps what they did: their accounts, entries and exchanges stay, so every
balance still adds up and ``check-ledger`` passes. Exchange records themselves are
never edited (the ledger's rule), so their short descriptions stay.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update

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
from timebank.infra.db import like_pattern
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


def export(member: Member, by: Member | None = None) -> dict:
    """Everything stored about ``member``, and nothing about anyone else: other people
    appear only as "another member" (the statement CSV names them as the statement
    page does)."""
    mid = member.id
    accounts = db.session.scalars(select(Account).where(Account.member_id == mid)).all()
    account_ids = {a.id for a in accounts}
    banks = {b.id: b.name for b in db.session.scalars(select(Bank))}
    exchanges = db.session.scalars(select(Exchange).where(or_(
        Exchange.giver_account_id.in_(account_ids),
        Exchange.receiver_account_id.in_(account_ids))).order_by(Exchange.id)).all()
    matches = db.session.scalars(select(Match).where(
        or_(Match.requester_id == mid, Match.helper_id == mid))).all()
    audit(by.id if by else mid, "member.export", "member", mid)
    db.session.commit()
    others = _without_others(member)
    return {
        "exported_at": utcnow().isoformat(),
        "profile": _row(member, PROFILE),
        "memberships": [
            {"bank": banks.get(m.bank_id), **_row(m, ("role", "status", "status_reason",
                                                      "created_at", "approved_at",
                                                      "terms_accepted_at"))}
            for m in db.session.scalars(select(Membership).where(Membership.member_id == mid))],
        "accounts": [{"bank": banks.get(a.bank_id), **_row(a, ("balance", "floor"))}
                     for a in accounts],
        "exchanges": [
            {"you": "gave" if ex.giver_account_id in account_ids else "received",
             "recorded_by_you": ex.recorded_by_id == mid,
             **_row(ex, ("id", "minutes", "service_date", "status", "description",
                         "reason", "created_at", "settled_at"))}
            for ex in exchanges],
        "outcomes_you_gave": [_row(o, ("exchange_id", "score", "text", "share_consent",
                                       "created_at"))
                              for o in db.session.scalars(
                                  select(Outcome).where(Outcome.author_id == mid))],
        "listings": [_row(li, ("id", "kind", "title", "description", "status", "expires_on",
                               "created_at"))
                     for li in db.session.scalars(select(Listing).where(
                         Listing.member_id == mid))],
        "introductions": [
            {"you_are": "requester" if m.requester_id == mid else "helper",
             **_row(m, ("id", "status", "note", "created_at", "completed_at"))}
            for m in matches],
        "messages_you_wrote": [_row(m, ("match_id", "body", "created_at"))
                               for m in db.session.scalars(select(MatchMessage).where(
                                   MatchMessage.author_id == mid))],
        "assets_you_suggested": [_row(a, ("id", "name", "status", "created_at"))
                                 for a in db.session.scalars(select(Asset).where(
                                     Asset.submitted_by_id == mid))],
        "asset_reviews": [_row(r, ("asset_id", "still_there", "welcoming", "accessible",
                                   "comment", "created_at"))
                          for r in db.session.scalars(select(AssetReview).where(
                              AssetReview.member_id == mid))],
        "ideas_you_proposed": [_row(i, ("id", "title", "need", "builds_on", "takes", "status",
                                        "answer", "show_name", "created_at"))
                               for i in db.session.scalars(select(Idea).where(
                                   Idea.proposer_id == mid))],
        "idea_comments": [_row(c, ("idea_id", "body", "created_at"))
                          for c in db.session.scalars(select(IdeaComment).where(
                              IdeaComment.author_id == mid))],
        "ideas_you_supported": list(db.session.scalars(select(IdeaSupport.idea_id).where(
            IdeaSupport.member_id == mid))),
        "idea_ratings": [_row(r, ("idea_id", "benefits", "builds", "together", "updated_at"))
                         for r in db.session.scalars(select(IdeaRating).where(
                             IdeaRating.member_id == mid))],
        "events": [_row(s, ("event_id", "helping", "attended", "created_at"))
                   for s in db.session.scalars(select(EventSignup).where(
                       EventSignup.member_id == mid))],
        # Safeguarding checks: only that one was seen, when, and until when.
        "safeguarding_checks": [_row(c, ("kind", "done_on", "expires_on", "recorded_at"))
                                for c in db.session.scalars(select(MemberCheck).where(
                                    MemberCheck.member_id == mid))],
        # What the bank did to bring them back when they went quiet, and its notes.
        "contacts_while_quiet": [_row(q, ("kind", "note", "created_at"))
                                 for q in db.session.scalars(select(QuietContact).where(
                                     QuietContact.member_id == mid))],
        "notifications": [{**_row(n, ("created_at", "read_at")), "text": others(n.text)}
                          for n in db.session.scalars(select(Notification).where(
                              Notification.member_id == mid))],
        "emails_sent_to_you": [
            {**_row(m, ("to_email", "created_at", "sent_at")), "subject": others(m.subject),
             "body": others(m.body)}
            for m in db.session.scalars(select(OutboxMessage).where(
                OutboxMessage.member_id == mid).order_by(OutboxMessage.id))],
        "your_mobile": _row(member, ("mobile", "mobile_verified_at", "mobile_set_by_id",
                                     "text_preference", "texts_stopped_at")),
        "exchanges_you_recorded_for_others": [
            _row(e, ("id", "recorded_by_id", "minutes", "service_date", "status", "via"))
            for e in db.session.scalars(select(Exchange).where(Exchange.proxy_id == mid)
                                        .order_by(Exchange.id))],
        "texts": [{**_row(t, ("direction", "number", "command", "status", "created_at",
                              "sent_at")), "body": others(t.body)}
                  for t in db.session.scalars(select(TextMessage).where(
                      TextMessage.member_id == mid).order_by(TextMessage.id))],
        "proxies": [_row(p, ("member_id", "proxy_id", "bank_id", "until", "created_at",
                             "ended_at"))
                    for p in db.session.scalars(select(Proxy).where(
                        or_(Proxy.member_id == mid, Proxy.proxy_id == mid))
                        .order_by(Proxy.id))],
        "reasons_recorded_about_you": [
            {"action": e.action, "reason": e.detail.get("reason"),
             "created_at": _plain(e.created_at)}
            for e in db.session.scalars(select(AuditEvent).where(
                AuditEvent.object_type == "member", AuditEvent.object_id == mid)
                .order_by(AuditEvent.id))
            if isinstance(e.detail, dict) and e.detail.get("reason")],
        "where_we_place_you": _placed(member),
        "activity_log": [_row(e, ("action", "object_type", "created_at"))
                         for e in db.session.scalars(select(AuditEvent).where(or_(
                             AuditEvent.actor_id == mid,
                             (AuditEvent.object_type == "member")
                             & (AuditEvent.object_id == mid))).order_by(AuditEvent.id))],
    }


def _without_others(member: Member):
    """A function that replaces other members' names in a text written to ``member``
    (their notifications and e-mails) with "another member": the download is theirs,
    not their neighbours'."""
    banks = select(Membership.bank_id).where(Membership.member_id == member.id)
    names = {name.strip() for name in db.session.scalars(
        select(Member.display_name).join(Membership, Membership.member_id == Member.id)
        .where(Membership.bank_id.in_(banks), Member.id != member.id))
        if name and len(name.strip()) >= 3 and name.strip() != member.display_name}
    if not names:
        return lambda text: text
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?!\w)")
    return lambda text: pattern.sub("another member", text or "")


def _placed(member: Member) -> dict:
    """The address they gave, where the geocoder put it, and the rounded point others see."""
    found = {"address": member.address, "latitude": member.latitude,
             "longitude": member.longitude, "shown_to_others_at": None}
    if member.latitude is not None:
        found["shown_to_others_at"] = {"latitude": member.public_latitude,
                                       "longitude": member.public_longitude}
    if member.address:
        found["geocoder_answer"] = db.session.scalar(
            select(GeocodeCache.display_name).where(
                GeocodeCache.query == geo.normalise_query(member.address)))
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
    audit(by.id, "member.erased", "member", member.id)
    db.session.commit()
    _forget_bytes()

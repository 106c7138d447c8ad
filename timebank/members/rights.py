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
from sqlalchemy import delete, or_, select, update

from .. import cache, geo
from ..auth.service import end_sessions
from ..errors import Refused
from ..extensions import db
from ..forms import like_pattern
from ..models import (
    Account,
    Asset,
    AssetReview,
    AuditEvent,
    Bank,
    Exchange,
    GeocodeCache,
    Idea,
    IdeaComment,
    IdeaRating,
    IdeaRevision,
    IdeaSupport,
    Listing,
    ListingStatus,
    Match,
    MatchMessage,
    Member,
    Membership,
    MemberStatus,
    Notification,
    OutboxMessage,
    Outcome,
    SessionSignup,
)
from ..models.audit import record as audit
from ..models.base import utcnow
from ..notify import notify

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
                         "created_at", "settled_at"))}
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
        "codesign_sessions": [_row(s, ("session_id", "attended", "created_at"))
                              for s in db.session.scalars(select(SessionSignup).where(
                                  SessionSignup.member_id == mid))],
        "notifications": [_row(n, ("text", "created_at", "read_at"))
                          for n in db.session.scalars(select(Notification).where(
                              Notification.member_id == mid))],
        "activity_log": [_row(e, ("action", "object_type", "created_at"))
                         for e in db.session.scalars(select(AuditEvent).where(or_(
                             AuditEvent.actor_id == mid,
                             (AuditEvent.object_type == "member")
                             & (AuditEvent.object_id == mid))).order_by(AuditEvent.id))],
    }


def request_erasure(member: Member, password: str) -> None:
    """Ask this member's coordinators to erase them (they check nothing is outstanding)."""
    if not member.check_password(password):
        raise RightsError(_("That is not your current password."), "password")
    if member.erasure_requested_at is None:
        member.erasure_requested_at = utcnow()
        audit(member.id, "member.erasure_requested", "member", member.id)
        from flask import url_for

        for bank_id, coordinator in _coordinators_of(member):
            notify(coordinator, _("%(name)s asked for their personal details to be erased.",
                                  name=member.display_name),
                   url_for("members.detail", member_id=member.id), bank_id=bank_id)
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


def _scrub_name_elsewhere(name: str) -> None:
    """Other people's notifications and e-mails that name the person ("… accepted the
    introduction") keep their sense but lose the name."""
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    like = like_pattern(name)
    for note in db.session.scalars(select(Notification).where(
            Notification.text.like(like, escape="\\"))):
        note.text = pattern.sub(FORMER, note.text)
    for mail in db.session.scalars(select(OutboxMessage).where(or_(
            OutboxMessage.body.like(like, escape="\\"),
            OutboxMessage.subject.like(like, escape="\\")))):
        mail.body = pattern.sub(FORMER, mail.body)
        mail.subject = pattern.sub(FORMER, mail.subject)


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
    _scrub_name_elsewhere(member.display_name)
    if member.address:
        db.session.execute(delete(GeocodeCache).where(
            GeocodeCache.query == geo.normalise_query(member.address)))
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
    # Sent and unsent e-mails held their address and words; none goes out any more.
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.member_id == member.id))
    member.forget_memberships()
    audit(by.id, "member.erased", "member", member.id)
    db.session.commit()

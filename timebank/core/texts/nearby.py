"""What is new nearby, in a text: the three newest open offers and requests near the
member, each with a number they answer with (``HELP 77``). Sent when they text NEAR,
and once a week to those who chose it (``weekly``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from timebank.core.language import language_of
from timebank.core.listings import nearby as nearby_listings
from timebank.core.models import CodePurpose, ListingKind, Member, MemberStatus
from timebank.core.models.members import TRADING_ROLES
from timebank.core.texts import outbox
from timebank.infra.extensions import db

SHOWN = 3


def words(member: Member, bank, now: datetime, since: datetime | None = None) -> str:
    """The text, or "" when there is nothing (newer than ``since``). Caller commits."""
    listings = [item for item in nearby_listings(member, bank.id)
                if since is None or item.created_at > since]
    listings = sorted(listings, key=lambda item: item.id, reverse=True)[:SHOWN]
    if not listings:
        return ""
    lines = []
    code = None
    for listing in listings:
        code = outbox.new_code(member.id, CodePurpose.LISTING, now, digits=2,
                               listing_id=listing.id)
        kind = _("Offer") if listing.kind == ListingKind.OFFER else _("Request")
        lines.append(f"{kind} {code.code}: {listing.title[:60]} "
                     f"({listing.member.display_name})")
    lines.append(_("Text HELP and the number (e.g. HELP %(code)s) to answer one.",
                   code=code.code))
    return "\n".join(lines)


def weekly(now: datetime) -> int:
    """Text the members who chose a weekly text what is new near them since the last
    one (nothing new: no text). Returns how many were queued. Commits."""
    week_ago = now - timedelta(days=7)
    members = db.session.scalars(select(Member).where(
        Member.text_preference == "weekly", Member.mobile_verified_at.is_not(None),
        Member.texts_stopped_at.is_(None), Member.status == MemberStatus.ACTIVE,
        Member.erased_at.is_(None),
        (Member.texts_weekly_at.is_(None)) | (Member.texts_weekly_at <= week_ago))).all()
    queued = 0
    for member in members:
        since = max(member.texts_weekly_at or week_ago, week_ago)
        member.texts_weekly_at = now
        home = next((m.bank for m in sorted(member.all_memberships(), key=lambda m: m.bank_id)
                     if m.status == MemberStatus.ACTIVE and m.role in TRADING_ROLES), None)
        if home is None or not outbox.wants_texts(member):
            continue
        with force_locale(language_of(member, home.id)):
            body = words(member, home, now, since)
            if body:
                outbox.queue(member.mobile, _("New near you:") + "\n" + body,
                             member_id=member.id, bank_id=home.id, now=now, kind="news")
                queued += 1
    db.session.commit()
    return queued

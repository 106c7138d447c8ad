"""Keeping the register true: an asset's named contact confirms or corrects it from an
e-mailed link, members report that one closed or moved, coordinators decide, and
Assets of Community Value are remembered before their listing ends.

"Now" and "today" are the caller's (the routes' and jobs' clock), never read here.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from timebank.core.assets.hsds import email as valid_email
from timebank.core.assets.register import ACV_REMIND_DAYS, TEXT_FIELDS, checked
from timebank.core.errors import Refused
from timebank.core.language import Day
from timebank.core.links import site_url
from timebank.core.models import Asset, AssetChange, AssetStatus, Bank, GeocodeState, Member
from timebank.core.models.assets import CheckedHow
from timebank.core.models.audit import record as audit
from timebank.core.models.notifications import OutboxMessage
from timebank.core.notify import absolute, notify
from timebank.core.roster import coordinators_of
from timebank.infra.extensions import db

LINK_DAYS = 30
CHANGE_KINDS = ("correction", "closed", "moved")
# What a contact may correct: the public details in words, never the status, kind or
# map position (a coordinator places it again if the address changes).
CORRECTABLE = TEXT_FIELDS


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="timebank-asset-check")


def _bound(asset: Asset) -> str:
    """What a link is bound to: the address it went to, the asset as it was and what
    was said about it. Any change (the contact's own answer too) ends it: it works once."""
    stamp = asset.updated_at.isoformat() if asset.updated_at else ""
    said = db.session.scalar(select(func.count()).select_from(AssetChange).where(
        AssetChange.asset_id == asset.id, AssetChange.kind == "correction"))
    return hashlib.sha256(f"{asset.email}|{stamp}|{said}".encode()).hexdigest()[:20]


def token_for(asset: Asset) -> str:
    """The signed part of the link that lets the asset's contact answer, once."""
    return _serializer().dumps({"a": asset.id, "f": _bound(asset)})


def ask_contact(asset: Asset, by: Member) -> str:
    """E-mail the asset's contact a link to confirm or correct it (no log-in needed).
    Returns the address written to; Refused when the asset has none."""
    to = valid_email(asset.email or "")
    if asset.status != AssetStatus.PUBLISHED or to is None:
        raise Refused(_("This asset has no contact e-mail address to ask."))
    link = absolute(site_url("assets.contact_check", token=token_for(asset)))
    body = "\n\n".join([
        _("Hello,"),
        _("“%(name)s” is listed in our neighbourhood's register of community assets, with "
          "this address as its contact. Are its details still right?", name=asset.name),
        _("Please open this link to confirm them, or to send corrections (no account "
          "needed):"),
        link,
        _("The link works once, for %(days)s days. If this is not yours to answer, you "
          "need do nothing.", days=LINK_DAYS)])
    db.session.add(OutboxMessage(member_id=None, to_email=to, subject=_(
        "Is “%(name)s” still listed right?", name=" ".join(asset.name.split())[:120]),
        body=body + "\n"))
    audit(by.id, "asset.ask_contact", "asset", asset.id)
    db.session.commit()
    return to


def read_link(token: str) -> Asset:
    """The asset a contact's link is for; Refused when forged, expired or used."""
    dead = Refused(_("This link has expired or has already been used. Ask the "
                     "coordinators for a new one."))
    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature:
        raise dead from None
    asset = db.session.get(Asset, data.get("a")) if isinstance(data, dict) else None
    if (asset is None or asset.status != AssetStatus.PUBLISHED
            or data.get("f") != _bound(asset)):
        raise dead
    return asset


def contact_confirms(asset: Asset, now: datetime) -> None:
    """Its contact says the details are right: checked, by its contact, at once."""
    checked(asset, now, CheckedHow.CONTACT, None)
    audit(None, "asset.contact_confirm", "asset", asset.id)
    db.session.commit()


def contact_corrects(asset: Asset, values: dict, note: str) -> AssetChange | None:
    """Its contact sends corrections: they wait for a coordinator. None when nothing
    differs (then it is a confirmation, and the caller says so)."""
    changed = {f: (values.get(f) or "").strip() for f in CORRECTABLE
               if (values.get(f) or "").strip() != (getattr(asset, f) or "")}
    if not changed and not note.strip():
        return None
    change = AssetChange(asset_id=asset.id, kind="correction", values=changed,
                         note=note.strip(), contact_email=asset.email or "")
    db.session.add(change)
    db.session.flush()
    audit(None, "asset.contact_correct", "asset", asset.id, change=change.id)
    db.session.commit()
    return change


def report(asset: Asset, by: Member, what: str, note: str) -> AssetChange:
    """A member says it has closed or moved: a coordinator looks."""
    if what not in ("closed", "moved") or asset.status != AssetStatus.PUBLISHED:
        raise Refused(_("Say whether it closed or moved."))
    change = AssetChange(asset_id=asset.id, kind=what, note=note.strip(), member_id=by.id)
    db.session.add(change)
    db.session.flush()
    audit(by.id, "asset.report", "asset", asset.id, what=what, change=change.id)
    db.session.commit()
    return change


def open_changes_query():
    return (select(AssetChange).where(AssetChange.status == "open")
            .order_by(AssetChange.id))


def open_changes(limit: int = 200) -> list[AssetChange]:
    return list(db.session.scalars(open_changes_query().limit(limit)))


def decide(change: AssetChange, by: Member, outcome: str, now: datetime, url: str) -> str:
    """A coordinator decides: ``apply`` (a correction is made; a closed asset archived),
    or ``dismiss``. The member who reported it is told. Returns what was done."""
    if change.status != "open":
        raise Refused(_("Someone has already decided on this."))
    if outcome not in ("apply", "dismiss"):
        raise Refused(_("Choose what to do."))
    asset = change.asset
    if outcome == "apply" and change.kind == "correction":
        address = (asset.address_1, asset.city, asset.postal_code)
        for field in CORRECTABLE:
            if field in change.values:
                longest = getattr(Asset.__table__.c[field].type, "length", None)  # Text: None
                setattr(asset, field, str(change.values[field])[:longest or 5000])
        if (asset.address_1, asset.city, asset.postal_code) != address:
            # The place follows the address: `geocode-pending` looks it up again.
            asset.geocode_state = GeocodeState.PENDING
        checked(asset, now, CheckedHow.CONTACT, by.id)
    elif outcome == "apply" and change.kind == "closed":
        asset.status = AssetStatus.ARCHIVED
    elif outcome == "apply":  # moved: the coordinator edits its place next
        checked(asset, now, CheckedHow.COORDINATOR, by.id)
    change.status = "applied" if outcome == "apply" else "dismissed"
    change.decided_by_id, change.decided_at = by.id, now
    audit(by.id, f"asset.change.{change.status}", "asset", asset.id, change=change.id)
    if change.member_id is not None:
        reporter = db.session.get(Member, change.member_id)
        if reporter is not None:
            notify(reporter, _told(change.kind, change.status, asset.name), url,
                   site_wide=True)
    elif change.kind == "correction" and (to := valid_email(change.contact_email)):
        _tell_contact(to, asset, change.status == "applied", absolute(url))
    db.session.commit()
    return change.status


def _tell_contact(to: str, asset: Asset, applied: bool, link: str) -> None:
    """The contact who sent corrections hears what became of them (they have no account
    to be told in)."""
    body = (_("Thank you: your corrections to “%(name)s” are now in the register.",
              name=asset.name) if applied else
            _("Thank you for your corrections to “%(name)s”. A coordinator looked at them "
              "and kept the details as they were; you can ask them why.", name=asset.name))
    db.session.add(OutboxMessage(member_id=None, to_email=to, subject=_(
        "Your corrections to “%(name)s”", name=" ".join(asset.name.split())[:120]),
        body=body + "\n\n" + link + "\n"))


def _told(kind: str, status: str, name: str):
    if status == "dismissed":
        return _l("Thank you for telling us about “%(name)s”. We checked, and it stays on "
                  "the map as it is.", name=name)
    if kind == "closed":
        return _l("Thank you: “%(name)s” has closed, and is no longer on the map.", name=name)
    return _l("Thank you: “%(name)s” is being updated with its new place.", name=name)



# -- Assets of Community Value ------------------------------------------------------


def acv_expiring(today: date):
    """Published Assets of Community Value whose listing ends within ACV_REMIND_DAYS and
    whose coordinators were not yet told."""
    return (select(Asset).where(Asset.status == AssetStatus.PUBLISHED,
                                Asset.acv_expires_on.is_not(None),
                                Asset.acv_expires_on <= today + timedelta(days=ACV_REMIND_DAYS),
                                Asset.acv_reminded_on.is_(None))
            .order_by(Asset.acv_expires_on, Asset.id))


def remind_acv(today: date, url_of) -> int:
    """Tell every bank's coordinators, once per listing, that an Asset of Community
    Value's listing is ending (``url_of(asset)``: its page). Returns how many."""
    due = list(db.session.scalars(acv_expiring(today)))
    if not due:
        return 0
    coordinators = {m.id: m for bank in db.session.scalars(select(Bank))
                    for m in coordinators_of(bank)}
    for asset in due:
        for member in coordinators.values():
            notify(member, _l("The listing of “%(name)s” as an Asset of Community Value ends "
                              "on %(day)s. The council can be asked to list it again.",
                              name=asset.name, day=Day(asset.acv_expires_on, None)),
                   url_of(asset), site_wide=True)
        asset.acv_reminded_on = today
        audit(None, "asset.acv_reminder", "asset", asset.id)
    db.session.commit()
    return len(due)

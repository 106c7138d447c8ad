"""Proxies ("guardian angels"): a member who acts for another with their consent.

A member names someone themselves; or a coordinator records that a member without a
phone or computer named one, and a second coordinator agrees before it holds (so no
coordinator alone can make themselves, or a friend, the hands of someone's account).
Until the date it ends, the proxy gets the member's news, records and confirms time for
them, and each step is recorded as done by the proxy for the member. The member, a
coordinator of the bank, or the proxy ends it at any time.

A proxy never moves hours to themselves (or to anyone tied to them) from the member's
account: the ledger asks ``may_take_for`` before it does anything for the member.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from timebank.core import four_eyes
from timebank.core.errors import Refused
from timebank.core.language import Day
from timebank.core.links import bank_url
from timebank.core.models import Member, MemberStatus, Proxy
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.models.members import STAFF_ROLES, TRADING_ROLES
from timebank.core.notify import notify
from timebank.infra.extensions import db

MAX_DAYS = 2 * 366  # named again at least every two years


class ProxyRefused(Refused):
    """The step a proxy asked for is not theirs to take; the message says why."""


def acting(proxy_id: int, member_id: int, bank_id: int, today: date) -> Proxy | None:
    """The proxy arrangement by which ``proxy_id`` acts for ``member_id`` today, or None."""
    return db.session.scalar(select(Proxy).where(
        Proxy.proxy_id == proxy_id, Proxy.member_id == member_id, Proxy.bank_id == bank_id,
        *Proxy.holding(today)).limit(1))


def acts_for(proxy_id: int, bank_id: int, today: date) -> list[Member]:
    """The members ``proxy_id`` acts for in the bank today."""
    return list(db.session.scalars(
        select(Member).join(Proxy, Proxy.member_id == Member.id)
        .where(Proxy.proxy_id == proxy_id, Proxy.bank_id == bank_id, *Proxy.holding(today))
        .order_by(Member.display_name, Member.id)))


def arrangements(member_id: int, bank_id: int, today: date) -> list[Proxy]:
    """A member's arrangements in the bank, both ways, that have not ended (profile)."""
    return list(db.session.scalars(select(Proxy).where(
        or_(Proxy.member_id == member_id, Proxy.proxy_id == member_id),
        Proxy.bank_id == bank_id, Proxy.ended_at.is_(None), Proxy.until >= today)
        .order_by(Proxy.id)))


def waiting(bank_id: int, today: date) -> list[Proxy]:
    """Arrangements a coordinator recorded that wait for a second coordinator."""
    return list(db.session.scalars(select(Proxy).where(
        Proxy.bank_id == bank_id, Proxy.ended_at.is_(None), Proxy.until >= today,
        Proxy.agreed_by_id.is_(None), Proxy.recorded_by_id != Proxy.member_id)
        .order_by(Proxy.id)))


def may_take_for(proxy: Member, member: Member, counterpart_id: int | None) -> None:
    """Refuse a step a proxy takes for ``member`` that pays ``counterpart_id`` from the
    member's account, when that is the proxy or someone tied to them (invariant 7)."""
    if counterpart_id is not None and four_eyes.tied(proxy.id, counterpart_id):
        raise ProxyRefused(_("You act for %(name)s: you cannot move their hours to yourself "
                             "or to someone you stand behind. Ask a coordinator.",
                             name=member.display_name))


def name(member: Member, proxy: Member, bank_id: int, until: date, by: Member,
         today: date) -> Proxy:
    """Record that ``member`` names ``proxy`` until ``until``: by the member themselves
    (it holds at once) or by a coordinator (it holds once a second one agrees). Caller
    commits."""
    if proxy.id == member.id:
        raise ProxyRefused(_("Choose someone else to act for you."))
    if proxy.role_in(bank_id) not in TRADING_ROLES or proxy.status != MemberStatus.ACTIVE:
        raise ProxyRefused(_("%(name)s is not an active member of this bank.",
                             name=proxy.display_name))
    if by.id != member.id and by.role_in(bank_id) not in STAFF_ROLES:
        raise ProxyRefused(_("Only the member, or a coordinator with them, names who acts "
                             "for them."))
    if until < today:
        raise ProxyRefused(_("The end date has passed: choose a date from today."))
    if (until - today).days > MAX_DAYS:
        raise ProxyRefused(_("Choose an end date within two years; it can be renewed."))
    if acting(proxy.id, member.id, bank_id, today) is not None:
        raise ProxyRefused(_("%(name)s already acts for this member.", name=proxy.display_name))
    arrangement = Proxy(member_id=member.id, proxy_id=proxy.id, bank_id=bank_id, until=until,
                        recorded_by_id=by.id)
    db.session.add(arrangement)
    db.session.flush()
    audit(by.id, "proxy.name", "proxy", arrangement.id, member=member.id, proxy=proxy.id,
          until=until.isoformat())
    url = bank_url("proxies.mine", bank_id)
    if by.id == member.id:
        notify(proxy, _l("%(name)s named you to act for them until %(date)s: you will get "
                         "their news, and can record and confirm time for them.",
                         name=member.display_name, date=Day(until, bank_id)), url,
               bank_id=bank_id)
    else:
        notify(member, _l("%(by)s recorded that you named %(proxy)s to act for you until "
                          "%(date)s. It holds once a second coordinator agrees; you can end "
                          "it at any time.", by=by.display_name, proxy=proxy.display_name,
                          date=Day(until, bank_id)), url, bank_id=bank_id)
        for other in four_eyes.deciders(bank_id, exclude={by.id, member.id, proxy.id}):
            notify(other, _l("%(by)s recorded that %(name)s named %(proxy)s to act for them: "
                             "a second coordinator agrees.", by=by.display_name,
                             name=member.display_name, proxy=proxy.display_name),
                   bank_url("proxies.waiting", bank_id), bank_id=bank_id)
    return arrangement


def agree(arrangement: Proxy, by: Member) -> None:
    """A second coordinator agrees to an arrangement another recorded. Caller commits."""
    if (arrangement.agreed_by_id is not None or arrangement.ended_at is not None
            or by.role_in(arrangement.bank_id) not in STAFF_ROLES
            or any(four_eyes.tied(by.id, who) for who in (
                arrangement.recorded_by_id, arrangement.member_id, arrangement.proxy_id))):
        raise ProxyRefused(_("Another coordinator, not tied to anyone in it, agrees to this."))
    arrangement.agreed_by_id = by.id
    audit(by.id, "proxy.agree", "proxy", arrangement.id, member=arrangement.member_id,
          proxy=arrangement.proxy_id)
    notify(arrangement.proxy, _l("You now act for %(name)s until %(date)s.",
                                 name=arrangement.member.display_name,
                                 date=Day(arrangement.until, arrangement.bank_id)),
           bank_url("proxies.mine", arrangement.bank_id), bank_id=arrangement.bank_id)


def end(arrangement: Proxy, by: Member) -> None:
    """The member, the proxy or a coordinator of the bank ends it. Caller commits."""
    if not (by.id in (arrangement.member_id, arrangement.proxy_id)
            or by.role_in(arrangement.bank_id) in STAFF_ROLES):
        raise ProxyRefused(_("Only the member, their proxy or a coordinator can end this."))
    if arrangement.ended_at is not None:
        return
    arrangement.ended_at, arrangement.ended_by_id = utcnow(), by.id
    audit(by.id, "proxy.end", "proxy", arrangement.id, member=arrangement.member_id,
          proxy=arrangement.proxy_id)
    for person in (arrangement.member, arrangement.proxy):
        if person.id != by.id and person.erased_at is None:
            notify(person, _l("%(proxy)s no longer acts for %(name)s.",
                              proxy=arrangement.proxy.display_name,
                              name=arrangement.member.display_name),
                   bank_url("proxies.mine", arrangement.bank_id),
                   bank_id=arrangement.bank_id)

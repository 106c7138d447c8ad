"""Telling the other side of every step of an exchange.

Whatever changes a member's hours, or asks them to act, reaches them: recording time with
them, a confirmation, a decline (with the reason given), a cancellation, a coordinator
recording for them, a reversal, a group activity. Each message is a notification on the
site and, through ``notify``, an e-mail if their setting asks for one (the weekly digest
gathers the unread ones otherwise), in the recipient's own language, naming who did what,
how long, when, and with a link to the exchange.

The ledger calls these inside the transaction that makes the change, so a step and its
news are committed together or not at all. The person who took the step is never told
of it; members without e-mail see the notification and their printed statement.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from timebank.core.four_eyes import deciders
from timebank.core.language import format_day
from timebank.core.links import bank_url
from timebank.core.models import Exchange, Member
from timebank.core.models.banks import Bank
from timebank.core.models.ledger import Account, format_minutes
from timebank.core.notify import notify
from timebank.infra.extensions import db


class _InTheirWords:
    """Text put into words only when ``notify`` has chosen the recipient's language, so the
    time and date are written as they read them (\"1 awr 30 mun\", \"6 Rhagfyr 2026\")."""

    def __init__(self, words: Callable[[], str]):
        self.words = words

    def __str__(self) -> str:
        return self.words()


def _party(account: Account) -> Member | None:
    member = account.member
    if member is None or member.erased_at is not None:
        return None  # the community pool, a clearing account, or a former member
    return member


def _what(exchange: Exchange) -> str:
    what = (exchange.description or "").strip()
    if not what and exchange.category is not None:
        what = exchange.category.name
    return " ".join(what.split())[:80]


def _tell(member: Member | None, account: Account, exchange: Exchange, by: Member,
          words: Callable[..., str], subject: Callable[..., str], *, by_text: bool = True,
          asks: bool = False) -> None:
    """Tell one person; by text too if they chose texts (news of their own hours), with
    a code to answer when ``asks`` (they are asked to confirm)."""
    if member is None or member.id == by.id:
        return
    url = _link(account.bank_id, exchange.id)
    notify(member, _InTheirWords(words), url, subject=_InTheirWords(subject),
           bank_id=account.bank_id, by_text=by_text,
           answers=exchange.id if asks else None)


def _link(bank_id: int, exchange_id: int) -> str:
    return bank_url("exchanges.show", bank_id, exchange_id=exchange_id)


def _facts(exchange: Exchange, by: Member) -> Callable[[], dict[str, str]]:
    def facts() -> dict[str, str]:
        return {"by": by.display_name, "time": format_minutes(exchange.minutes),
                "date": format_day(exchange.service_date,
                                   db.session.get(Bank, exchange.giver.bank_id), "long"),
                "giver": exchange.giver.label, "receiver": exchange.receiver.label,
                "what": _what(exchange) or _("no description")}
    return facts


def awaiting_second(exchange: Exchange, by: Member) -> None:
    """An exchange in which a member pays a coordinator who stands behind them
    (``four_eyes``): both sides learn that a second coordinator confirms it, and the
    bank's other coordinators are asked to."""

    facts = _facts(exchange, by)
    for account in (exchange.giver, exchange.receiver):
        _tell(_party(account), account, exchange, by,
              lambda: _("%(by)s recorded that %(giver)s gave %(receiver)s %(time)s on "
                        "%(date)s (%(what)s). A second coordinator will confirm it.",
                        **facts()),
              lambda: _("%(time)s from %(giver)s waits for a second coordinator", **facts()))
    parties = {exchange.giver.member_id, exchange.receiver.member_id}
    for coordinator in deciders(exchange.receiver.bank_id, exclude=parties):
        _tell(coordinator, exchange.receiver, exchange, by,
              lambda: _("%(giver)s stands behind %(receiver)s's account (enrolled them or "
                        "asked for their log-in), so a second coordinator confirms the "
                        "%(time)s recorded on %(date)s (%(what)s). Please check it with "
                        "%(receiver)s.", **facts()),
              lambda: _("Please confirm %(time)s from %(giver)s as a second coordinator",
                        **facts()), by_text=False)


def recorded(exchange: Exchange, by: Member) -> None:
    """A new exchange: the other side learns of it (both sides, when staff recorded it)."""
    facts = _facts(exchange, by)
    giver, receiver = _party(exchange.giver), _party(exchange.receiver)
    if exchange.status == "pending" and exchange.awaiting_member_id is None:
        return  # waiting for a second coordinator: ``awaiting_second`` tells everyone
    if exchange.status == "pending":
        # Waiting for the receiver: they are asked to confirm or decline.
        if by.id == exchange.giver.member_id:
            _tell(receiver, exchange.receiver, exchange, by,
                  lambda: _("%(by)s says they gave you %(time)s on %(date)s (%(what)s). "
                            "Please confirm it if that is right, or decline it.", **facts()),
                  lambda: _("Please confirm %(time)s from %(giver)s", **facts()), asks=True)
        else:
            _tell(receiver, exchange.receiver, exchange, by,
                  lambda: _("%(by)s recorded that %(giver)s gave you %(time)s on %(date)s "
                            "(%(what)s). Please confirm it if that is right, or decline it.",
                            **facts()),
                  lambda: _("Please confirm %(time)s from %(giver)s", **facts()), asks=True)
            # Hours recorded in the giver's name by someone else: the giver hears it too.
            _tell(giver, exchange.giver, exchange, by,
                  lambda: _("%(by)s recorded that you gave %(receiver)s %(time)s on %(date)s "
                            "(%(what)s); %(receiver)s is asked to confirm it.", **facts()),
                  lambda: _("%(by)s recorded %(time)s you gave", **facts()))
        return
    on_behalf = by.id not in (exchange.giver.member_id, exchange.receiver.member_id)
    if on_behalf:
        _tell(giver, exchange.giver, exchange, by,
              lambda: _("%(by)s recorded for you that you gave %(receiver)s %(time)s on "
                        "%(date)s (%(what)s). It is confirmed and counts in your balance.",
                        **facts()),
              lambda: _("%(by)s recorded %(time)s you gave", **facts()))
        _tell(receiver, exchange.receiver, exchange, by,
              lambda: _("%(by)s recorded for you that %(giver)s gave you %(time)s on "
                        "%(date)s (%(what)s). It is confirmed and counts in your balance.",
                        **facts()),
              lambda: _("%(by)s recorded %(time)s you received", **facts()))
    else:
        # The receiver recorded what they received: confirmed at once; the giver is told.
        _tell(giver, exchange.giver, exchange, by,
              lambda: _("%(by)s recorded that you gave them %(time)s on %(date)s "
                        "(%(what)s). It is confirmed and counts in your balance.", **facts()),
              lambda: _("%(by)s recorded %(time)s you gave", **facts()))


def answered(exchange: Exchange, by: Member, verb: str, reason: str = "") -> None:
    """A pending exchange confirmed, declined or cancelled: the giver and whoever recorded
    it hear of a confirmation or decline; the receiver of a cancellation."""
    facts = _facts(exchange, by)
    if verb == "cancel":
        _tell(_party(exchange.receiver), exchange.receiver, exchange, by,
              lambda: _("%(by)s cancelled the %(time)s from %(giver)s recorded for %(date)s "
                        "(%(what)s). There is nothing for you to confirm.", **facts()),
              lambda: _("%(by)s cancelled an exchange", **facts()))
        # Staff withdrew it: the giver (whose hours they were) hears it as well.
        _tell(_party(exchange.giver), exchange.giver, exchange, by,
              lambda: _("%(by)s cancelled the %(time)s you gave %(receiver)s, recorded for "
                        "%(date)s (%(what)s).", **facts()),
              lambda: _("%(by)s cancelled an exchange", **facts()))
        return
    told: set[int] = set()
    # The giver and whoever recorded it; the receiver too when staff answered for them.
    for member, account in ((_party(exchange.giver), exchange.giver),
                            (exchange.recorded_by, exchange.giver),
                            (_party(exchange.receiver), exchange.receiver)):
        if member is None or member.id in told or member.erased_at is not None:
            continue
        told.add(member.id)
        if verb == "confirm":
            _tell(member, account, exchange, by,
                  lambda: _("%(by)s confirmed the %(time)s %(giver)s gave on %(date)s "
                            "(%(what)s). It now counts in the balances.", **facts()),
                  lambda: _("%(by)s confirmed %(time)s", **facts()))
        elif reason:
            _tell(member, account, exchange, by,
                  lambda: _("%(by)s declined the %(time)s recorded for %(date)s (%(what)s), "
                            "saying: “%(reason)s”. Nothing moved.",
                            reason=reason, **facts()),
                  lambda: _("%(by)s declined %(time)s", **facts()))
        else:
            _tell(member, account, exchange, by,
                  lambda: _("%(by)s declined the %(time)s recorded for %(date)s (%(what)s). "
                            "Nothing moved.", **facts()),
                  lambda: _("%(by)s declined %(time)s", **facts()))


def done_by_proxy(exchange: Exchange, member: Member, proxy: Member, verb: str) -> None:
    """A proxy recorded, confirmed or declined for ``member``: the member hears it, on
    the site and as they chose (their other proxies too; never the one who did it)."""
    if member.erased_at is not None:
        return
    facts = _facts(exchange, proxy)
    words = {
        "record": lambda: _("%(by)s recorded for you that %(giver)s gave %(receiver)s "
                            "%(time)s on %(date)s (%(what)s).", **facts()),
        "confirm": lambda: _("%(by)s confirmed for you the %(time)s %(giver)s gave on "
                             "%(date)s (%(what)s).", **facts()),
        "decline": lambda: _("%(by)s declined for you the %(time)s recorded for %(date)s "
                             "(%(what)s).", **facts()),
    }[verb]
    account = exchange.receiver if exchange.receiver.member_id == member.id \
        else exchange.giver
    notify(member, _InTheirWords(words), _link(account.bank_id, exchange.id),
           subject=_InTheirWords(lambda: _("%(by)s acted for you", **facts())),
           bank_id=account.bank_id, by_text=True, not_to=proxy.id)


def reversed_(original: Exchange, reversal: Exchange, by: Member) -> None:
    """A correction: both members of the original exchange, with the reason."""
    facts = _facts(original, by)
    for account in (original.giver, original.receiver):
        _tell(_party(account), account, reversal, by,
              lambda: _("%(by)s reversed the exchange of %(time)s from %(giver)s to "
                        "%(receiver)s on %(date)s (%(what)s), because: “%(reason)s”. Your "
                        "balance is corrected.", reason=reversal.reason, **facts()),
              lambda: _("%(by)s reversed an exchange of %(time)s", **facts()))


def group_activity(made: list[Exchange], by: Member, to_pool: bool) -> None:
    """Each participant of a group activity hears what was recorded for them."""
    for exchange in made:
        facts = _facts(exchange, by)
        if to_pool:
            _tell(_party(exchange.giver), exchange.giver, exchange, by,
                  lambda facts=facts: _("%(by)s recorded %(time)s you gave to the community "
                                        "on %(date)s (%(what)s). It counts in your balance.",
                                        **facts()),
                  lambda facts=facts: _("%(by)s recorded %(time)s for you", **facts()))
        else:
            _tell(_party(exchange.receiver), exchange.receiver, exchange, by,
                  lambda facts=facts: _("%(by)s recorded %(time)s the community gave you on "
                                        "%(date)s (%(what)s). It counts in your balance.",
                                        **facts()),
                  lambda facts=facts: _("%(by)s recorded %(time)s for you", **facts()))

"""The ledger: the only code that writes entries and balances.

Double-entry bookkeeping in whole minutes. Confirming an exchange writes two
entries (receiver −m, giver +m) and moves both cached balances in the same
transaction. Nothing confirmed is edited or deleted; a correction is a new,
reversing exchange. The invariants (``check_ledger``) are those of DESIGN.md:

1. every confirmed exchange has entries summing to zero;
2. every cached balance equals the sum of its account's entries;
3. the sum of all balances is zero;
4. no account is below its floor.

Beside the entries it keeps the monthly figures reports read (``rollups``), in
the same transaction, and when each account was last named in an exchange.

Idempotency: every write carries a key that is unique in the database, so a
form that arrives twice, or at two workers at once, makes one exchange and the
second caller gets the first result.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from timebank.core import four_eyes, proxies
from timebank.core.errors import Refused
from timebank.core.ledger import news as exchange_news
from timebank.core.ledger import rollups
from timebank.core.models import (
    Account,
    AccountKind,
    Bank,
    Entry,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
)
from timebank.core.models.audit import record as audit
from timebank.core.models.base import utcnow
from timebank.core.models.ledger import (
    CLEARING_NAME,
    MAX_EXCHANGE_MINUTES,
    POOL_NAME,
    Outcome,
    format_minutes,
)
from timebank.core.models.members import STAFF_ROLES, TRADING_ROLES
from timebank.core.words import status_word
from timebank.infra import cache, clock
from timebank.infra.db import locked, write_transaction
from timebank.infra.extensions import db

# How a party's role reads in a refusal ("… so cannot be the giver").
ROLE_WORDS = {"giver": lambda: _("giver"), "receiver": lambda: _("receiver")}
MAX_AGE_DAYS = 366  # how far back a service may be dated


class LedgerError(Refused):
    """A refused ledger operation; ``field`` names the form field at fault, if any."""


@dataclass(frozen=True)
class Recorded:
    exchange: Exchange
    created: bool  # False when the idempotency key had been used already


def new_key() -> str:
    return uuid.uuid4().hex


# -- accounts -----------------------------------------------------------------


def _bank_id(bank_id: int | None, member: Member | None = None) -> int:
    """The bank a ledger call is about. Callers name it; left out, it can only be the
    member's one bank, or the install's one bank (commands on a single-bank install):
    never the bank some request happens to be showing."""
    if bank_id is not None:
        return bank_id
    if member is not None:
        theirs = {m.bank_id for m in member.all_memberships()
                  if m.status == MemberStatus.ACTIVE}
        if len(theirs) == 1:
            return theirs.pop()
    banks = db.session.scalars(select(Bank.id).limit(2)).all()
    if not banks:
        raise LedgerError(_("There is no time bank yet: create one first."))
    if len(banks) > 1:
        raise LedgerError(_("Say which bank: this install has several."))
    return banks[0]


def open_account(member: Member, bank_id: int | None = None,
                 floor: int | None = None) -> Account:
    """The member's account in the bank (see ``_bank_id``), created at 0 if need be.

    Caller commits.
    """
    bank_id = _bank_id(bank_id, member)
    account = account_of(member, bank_id)
    if account is None:
        if floor is None:
            floor = db.session.get(Bank, bank_id).default_floor
        account = Account(kind=AccountKind.MEMBER, bank_id=bank_id, member_id=member.id,
                          balance=0, floor=floor)
        db.session.add(account)
        db.session.flush()
    return account


def _system_account(bank_id: int, kind: AccountKind, name: str) -> Account:
    account = db.session.scalar(
        select(Account).where(Account.bank_id == bank_id, Account.kind == kind))
    if account is None:
        account = Account(kind=kind, bank_id=bank_id, name=name, balance=0, floor=None)
        db.session.add(account)
        db.session.flush()
    return account


def pool_account(bank_id: int | None = None) -> Account:
    """The bank's community pool: a system account with no floor. Caller commits."""
    return _system_account(_bank_id(bank_id), AccountKind.SYSTEM, POOL_NAME)


def clearing_account(bank_id: int) -> Account:
    """The bank's side of exchanges with other banks (no floor; the bank may cap it)."""
    return _system_account(bank_id, AccountKind.CLEARING, CLEARING_NAME)


def account_of(member: Member, bank_id: int | None = None) -> Account | None:
    bank_id = _bank_id(bank_id, member)
    return db.session.scalar(
        select(Account).where(Account.member_id == member.id, Account.bank_id == bank_id))


class SecondNeeded(LedgerError):
    """One coordinator may not do this alone (``four_eyes``): ask a second to agree."""


def set_floor(account_id: int, floor: int | None, by: Member,
              second: Member | None = None) -> Account:
    """Change an account's limit. Below the bank's default (or none at all) needs a
    ``second`` coordinator, who agreed to ``by``'s request (``four_eyes``)."""
    if floor is not None and floor > 0:
        raise LedgerError(_("A floor must be zero or below."), "floor")
    with write_transaction():
        account = _lock_accounts([account_id])[account_id]
        # Four eyes: nobody changes their own limit, and only an admin a staff member's.
        if account.member_id in (by.id, second.id if second else None):
            raise LedgerError(_("Another coordinator must change your own limit."), "floor")
        owner = account.member
        if owner is not None and owner.role_in(account.bank_id) in STAFF_ROLES and not by.is_admin:
            raise LedgerError(_("Only an admin can change a coordinator's or admin's limit."),
                              "floor")
        if floor is not None and account.balance < floor:
            raise LedgerError(
                _("The balance is already %(balance)s; the floor cannot be above it.",
                  balance=format_minutes(account.balance)),
                "floor",
            )
        default = db.session.get(Bank, account.bank_id).default_floor
        if floor is None or floor < min(default, account.floor if account.floor is not None
                                        else default):
            if second is None:
                raise SecondNeeded(_("A limit below the bank's (%(floor)s) needs a second "
                                     "coordinator to agree.",
                                     floor=format_minutes(default)), "floor")
            if (four_eyes.tied(second.id, by.id)
                    or four_eyes.tied(second.id, account.member_id)
                    or second.role_in(account.bank_id) not in STAFF_ROLES):
                raise LedgerError(_("Another coordinator must agree to this limit."), "floor")
        old = account.floor
        account.floor = floor
        audit(by.id, "account.set_floor", "account", account.id, old=old, new=floor,
              **({"agreed_by": second.id} if second else {}))
    return account


# -- validation ---------------------------------------------------------------


def _check_minutes(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise LedgerError(_("Time must be a whole number of minutes."), "minutes")
    if minutes <= 0:
        raise LedgerError(_("Time must be more than zero."), "minutes")
    if minutes > MAX_EXCHANGE_MINUTES:
        raise LedgerError(_("One exchange can be at most 24 hours."), "minutes")
    return minutes


def _check_service_date(service_date: date, today: date | None) -> None:
    today = today or clock.today()
    if service_date > today:
        raise LedgerError(_("The date of the service cannot be in the future."), "service_date")
    if service_date < today - timedelta(days=MAX_AGE_DAYS):
        raise LedgerError(_("That date is more than a year ago; a coordinator can help with "
                          "older records."), "service_date")


def _check_party(account: Account, role: str) -> None:
    """A member's account moves only while they are active in that account's bank."""
    member = account.member
    if account.kind != AccountKind.MEMBER:
        return
    if member is None or member.status != MemberStatus.ACTIVE or (
            member.role_in(account.bank_id) not in TRADING_ROLES):
        name = member.display_name if member else "that member"
        raise LedgerError(_("%(name)s is not an active member, so cannot be the %(role)s.",
                            name=name, role=ROLE_WORDS[role]()), role)


def _lock_accounts(ids: Sequence[int]) -> dict[int, Account]:
    """Lock accounts in id order (no deadlocks) and reload them from the database."""
    rows = db.session.scalars(
        select(Account)
        .where(Account.id.in_(sorted(set(ids))))
        .order_by(Account.id)
        # NO KEY UPDATE: it does not conflict with the KEY SHARE locks that inserting
        # an exchange (a foreign key to the account) takes, so no deadlock cycle.
        .with_for_update(of=Account, key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {a.id: a for a in rows}


def _lock_exchange(exchange_id: int) -> Exchange:
    exchange = locked(Exchange, exchange_id)
    if exchange is None:
        raise LedgerError(_("There is no such exchange."))
    return exchange


def _post(exchange: Exchange, by: Member, *, correction: bool = False) -> None:
    """Write the two entries and move both balances. Runs inside a write transaction.

    A ``correction`` (a reversal) goes through even if a party has since been
    suspended, but it still respects the floor (invariant 4).
    """
    accounts = _lock_accounts(_posting_ids(exchange))
    giver = accounts[exchange.giver_account_id]
    receiver = accounts[exchange.receiver_account_id]
    if not correction:
        _check_party(giver, "giver")
        _check_party(receiver, "receiver")
    m = exchange.minutes
    if receiver.floor is not None and receiver.balance - m < receiver.floor:
        if correction:
            raise LedgerError(
                _("Reversing would take %(name)s below their limit of %(floor)s; lower their "
                  "limit first.", name=receiver.label, floor=format_minutes(receiver.floor)),
                "reason",
            )
        raise LedgerError(
            _("%(name)s has %(balance)s; %(time)s more would take them below their limit of "
              "%(floor)s. A coordinator can change the limit.", name=receiver.label,
              balance=format_minutes(receiver.balance), time=format_minutes(m),
              floor=format_minutes(receiver.floor)),
            "minutes",
        )
    moves = [(receiver, -m), (giver, m)]
    if not correction:
        for account, minutes in moves:
            if account.kind == AccountKind.SYSTEM:
                _check_pool(account, minutes)
    if exchange.counter_bank_id is not None and not correction:
        # A bank may have stopped exchanges with other banks since this was recorded.
        _check_interbank(exchange.bank_id, exchange.counter_bank_id)
    if exchange.counter_bank_id is not None:
        # Between banks: each bank's entries still sum to zero, through its clearing
        # account, and the two clearing accounts mirror each other.
        out_of = _clearing_in(accounts, exchange.bank_id)
        into = _clearing_in(accounts, exchange.counter_bank_id)
        if not correction:
            _check_clearing_cap(out_of, -m)
            _check_clearing_cap(into, m)
        moves += [(out_of, -m), (into, m)]
    for account, minutes in moves:
        db.session.add(Entry(account_id=account.id, exchange_id=exchange.id, minutes=minutes,
                             service_date=exchange.service_date))
        account.balance += minutes
    if exchange.reverses_id is None:
        rollups.describe(exchange)
    _settle(exchange, ExchangeStatus.CONFIRMED)
    exchange.confirmed_by_id = by.id
    if exchange.reverses_id is None:
        giver.given += m
        receiver.received += m
        giver.exchanges_given += 1
        receiver.exchanges_received += 1
        rollups.count(exchange)
    else:  # a correction takes the original off the figures; it never counts itself
        giver.received -= m  # the original's receiver gives the time back
        receiver.given -= m
        giver.exchanges_received -= 1
        receiver.exchanges_given -= 1
        rollups.count(db.session.get(Exchange, exchange.reverses_id), -1)


def _named(exchange: Exchange) -> None:
    """Note on both parties' accounts that an exchange named them (who has gone quiet)."""
    db.session.execute(update(Account).where(
        Account.id.in_([exchange.giver_account_id, exchange.receiver_account_id]))
        .values(last_exchange_at=utcnow()))


def _clearing_ids(bank_ids) -> dict[int, int]:
    return dict(db.session.execute(
        select(Account.bank_id, Account.id).where(Account.kind == AccountKind.CLEARING,
                                                  Account.bank_id.in_(list(bank_ids)))).all())


def _posting_ids(exchange: Exchange) -> list[int]:
    """Every account a posting touches: the two parties and, between banks, both clearings."""
    ids = [exchange.giver_account_id, exchange.receiver_account_id]
    if exchange.counter_bank_id is not None:
        ids += _clearing_ids([exchange.bank_id, exchange.counter_bank_id]).values()
    return ids


def _clearing_in(accounts: dict[int, Account], bank_id: int) -> Account:
    for account in accounts.values():
        if account.kind == AccountKind.CLEARING and account.bank_id == bank_id:
            return account
    raise LedgerError(_("That bank has no clearing account; an admin must set it up."))


def _check_clearing_cap(clearing: Account, minutes: int) -> None:
    limit = db.session.get(Bank, clearing.bank_id).clearing_limit
    if limit is not None and abs(clearing.balance + minutes) > limit:
        bank = db.session.get(Bank, clearing.bank_id)
        raise LedgerError(
            _("%(name)s has reached its limit of %(limit)s exchanged with other banks. A "
              "coordinator can tell you more.", name=bank.name, limit=format_minutes(limit)),
            "minutes")


def _check_pool(pool: Account, minutes: int) -> None:
    """The community pool stays between the bank's floor and cap: nobody pays out, or
    takes in, without end."""
    bank = db.session.get(Bank, pool.bank_id)
    after = pool.balance + minutes
    if minutes < 0 and after < bank.pool_floor:
        raise LedgerError(_("The community pool can pay out no more (its limit is %(floor)s); "
                            "an admin can change it.", floor=format_minutes(bank.pool_floor)),
                          "minutes")
    if minutes > 0 and after > bank.pool_cap:
        raise LedgerError(_("The community pool can take in no more (its cap is %(cap)s); "
                            "an admin can change it.", cap=format_minutes(bank.pool_cap)),
                          "minutes")


def _settle(exchange: Exchange, status: ExchangeStatus) -> None:
    exchange.status = status
    exchange.awaiting_member_id = None
    exchange.settled_at = utcnow()


def _existing(key: str) -> Exchange | None:
    return db.session.scalar(select(Exchange).where(Exchange.idempotency_key == key))


# -- writes -------------------------------------------------------------------


def record_exchange(
    *,
    giver: Account,
    receiver: Account,
    minutes: int,
    service_date: date,
    recorded_by: Member,
    idempotency_key: str,
    confirm: bool,
    category_id: int | None = None,
    description: str = "",
    activity_id: str | None = None,
    today: date | None = None,
    match_id: int | None = None,
    via: str = "",
    proxy: Member | None = None,
) -> Recorded:
    """Record one exchange; confirm it at once when ``confirm`` (the receiver agreed).

    Unconfirmed exchanges wait for the receiving member to confirm or decline.
    ``via`` says how it came ("text"); ``proxy``: who recorded it for ``recorded_by``,
    acting for them (``core.proxies``): every rule is ``recorded_by``'s, and the proxy
    may not be paid, nor anyone tied to them.
    """
    if not idempotency_key or len(idempotency_key) > 64:
        raise LedgerError(_("This form has expired; please open it again."))
    prior = _existing(idempotency_key)
    if prior is not None:
        return _replay(prior, recorded_by)
    minutes = _check_minutes(minutes)
    if giver.id == receiver.id:
        raise LedgerError(_("The giver and the receiver must be different people."), "other")
    # Confirmed at once means the receiver agreed: they recorded it themselves, or a
    # coordinator who is neither side checked with both (four eyes).
    on_behalf_ok = (not four_eyes.acts_for(recorded_by.id, giver.member_id)
                    and recorded_by.role_in(giver.bank_id) in STAFF_ROLES)
    on_behalf = recorded_by.id not in (giver.member_id, receiver.member_id)
    if confirm and recorded_by.id != receiver.member_id and not on_behalf_ok:
        raise LedgerError(_("Another coordinator must record an exchange you take part in; "
                            "or record it as a member, for the other side to confirm."),
                          "other")
    _check_service_date(service_date, today)
    _check_party(giver, "giver")
    _check_party(receiver, "receiver")
    if proxy is not None:
        _check_proxy(proxy, recorded_by, receiver.bank_id if recorded_by.id == receiver.member_id
                     else giver.bank_id, today,
                     giver.member_id if recorded_by.id == receiver.member_id else None)
    # A member paying a coordinator who stands behind them (enrolled them, asked for
    # their log-in...): their word is not enough, as it may be the coordinator's own.
    # Either of them records it; a third, a coordinator recording on behalf, is the second
    # unless they stand behind the giver (time moved to their own puppet is theirs).
    to_second = ((not on_behalf and four_eyes.second_needed(
                     giver.member_id, receiver.member_id, receiver.bank_id))
                 or (on_behalf and confirm
                     and four_eyes.tied(recorded_by.id, giver.member_id)))
    confirm = confirm and not to_second
    counter_bank_id = None
    lock_ids = [giver.id, receiver.id]
    if giver.bank_id != receiver.bank_id:
        _check_interbank(giver.bank_id, receiver.bank_id)
        counter_bank_id = receiver.bank_id
        clearings = _clearing_ids([giver.bank_id, receiver.bank_id])
        if len(clearings) != 2:
            raise LedgerError(_("That bank has no clearing account; an admin must set it up."))
        lock_ids += clearings.values()
    try:
        with write_transaction():
            # Lock every account first, always in id order, before touching anything else.
            _lock_accounts(lock_ids)
            prior = _existing(idempotency_key)
            if prior is not None:
                return _replay(prior, recorded_by)
            exchange = Exchange(
                bank_id=giver.bank_id,
                counter_bank_id=counter_bank_id,
                giver_account_id=giver.id,
                receiver_account_id=receiver.id,
                minutes=minutes,
                service_date=service_date,
                category_id=category_id,
                description=description,
                recorded_by_id=recorded_by.id,
                idempotency_key=idempotency_key,
                activity_id=activity_id,
                match_id=match_id,
                via=via,
                proxy_id=proxy.id if proxy is not None else None,
                status=ExchangeStatus.PENDING,
                awaiting_member_id=_awaiting(confirm, to_second, on_behalf, receiver),
            )
            db.session.add(exchange)
            db.session.flush()
            _named(exchange)
            if confirm:
                _post(exchange, recorded_by)
            _audit_record(exchange, recorded_by, giver, receiver, proxy)
            exchange_news.recorded(exchange, recorded_by)
            if proxy is not None:
                exchange_news.done_by_proxy(exchange, recorded_by, proxy, "record")
            if to_second and exchange.awaiting_member_id is None:
                exchange_news.awaiting_second(exchange, recorded_by)
    except IntegrityError:
        # Another worker committed the same key between our check and insert.
        prior = _existing(idempotency_key)
        if prior is None:
            raise
        return _replay(prior, recorded_by)
    return Recorded(exchange, created=True)


def _awaiting(confirm: bool, to_second: bool, on_behalf: bool,
              receiver: Account) -> int | None:
    """Whose word confirms a pending exchange: the receiver's; but when the giver stands
    behind the receiver (their word may be the giver's), nobody's, so a second
    coordinator's. Recorded for someone by a coordinator behind the giver, the receiver
    is asked, if they can log in, and a second coordinator may answer too."""
    if confirm:
        return None
    member = receiver.member
    if to_second and not (on_behalf and member is not None and member.email
                          and member.email_verified_at is not None):
        return None
    return receiver.member_id


def _replay_reversal(prior: Exchange, exchange_id: int, by: Member) -> Recorded:
    """The first result of a reversal form sent again: only for that exchange and recorder."""
    if prior.reverses_id != exchange_id or prior.recorded_by_id != by.id:
        raise LedgerError(_("This form has expired; please open it again."))
    return Recorded(prior, created=False)


def _check_interbank(giver_bank_id: int, receiver_bank_id: int) -> None:
    for bank_id in (giver_bank_id, receiver_bank_id):
        bank = db.session.get(Bank, bank_id)
        if not bank.interbank:
            raise LedgerError(_("%(name)s does not take exchanges with other banks.",
                                name=bank.name), "other")


def _replay(prior: Exchange, recorded_by: Member) -> Recorded:
    """The first result of a form sent again; a key is only ever its recorder's."""
    if prior.recorded_by_id != recorded_by.id:
        raise LedgerError(_("This form has expired; please open it again."))
    return Recorded(prior, created=False)


def _check_proxy(proxy: Member, member: Member, bank_id: int, today: date | None,
                 paid_id: int | None) -> None:
    """``proxy`` acts for ``member`` in the bank today, and pays nobody tied to them from
    the member's account (``paid_id``: whom the member's step pays, if it pays)."""
    if proxies.acting(proxy.id, member.id, bank_id, today or clock.today()) is None:
        raise LedgerError(_("You do not act for %(name)s in this bank (or no longer do).",
                            name=member.display_name))
    try:
        proxies.may_take_for(proxy, member, paid_id)
    except proxies.ProxyRefused as refused:
        raise LedgerError(refused.message, "other") from None


def _actor(by: Member, proxy: Member | None, via: str) -> tuple[int, dict]:
    """Who the trail names as acting, and for whom and how: "by X for Y", "by text"."""
    detail: dict = {"via": via} if via else {}
    if proxy is not None:
        detail["for_member"] = by.id
        return proxy.id, detail
    return by.id, detail


def _audit_record(exchange: Exchange, by: Member, giver: Account, receiver: Account,
                  proxy: Member | None = None) -> None:
    on_behalf = by.id not in (giver.member_id, receiver.member_id)
    actor, detail = _actor(by, proxy, exchange.via)
    audit(
        actor,
        "exchange.record",
        "exchange",
        exchange.id,
        minutes=exchange.minutes,
        giver_account=giver.id,
        receiver_account=receiver.id,
        status=exchange.status,
        on_behalf=on_behalf,
        # Members by number, never by name: the trail must not keep an erased person's name.
        giver_member=giver.member_id,
        receiver_member=receiver.member_id,
        **detail,
    )


def _pending_for(exchange_id: int, by: Member, verb: str) -> Exchange:
    """Lock a pending exchange that ``by`` may answer (confirm/decline) or withdraw (cancel)."""
    exchange = _lock_exchange(exchange_id)
    if verb == "cancel":
        # The recorder withdraws it, or staff of the bank it was recorded in.
        if not (exchange.recorded_by_id == by.id
                or by.role_in(exchange.bank_id) in STAFF_ROLES):
            raise LedgerError(_("Only the person who recorded this exchange can cancel it."))
    # The receiving member answers; a coordinator of the receiver's bank may answer for
    # them, but never for an exchange whose giver they are or are tied to (four eyes).
    elif not (exchange.receiver.member_id == by.id
              or (by.role_in(exchange.receiver.bank_id) in STAFF_ROLES
                  and not four_eyes.tied(by.id, exchange.giver.member_id))):
        raise LedgerError(_("Only the person who received this time can confirm it.")
                          if verb == "confirm" else
                          _("Only the person who received this time can decline it."))
    elif (verb == "confirm" and exchange.receiver.member_id == by.id
          and exchange.status == ExchangeStatus.PENDING
          and (exchange.awaiting_member_id != by.id
               # the giver may have come to stand behind them since it was recorded
               or four_eyes.second_needed(exchange.giver.member_id, by.id,
                                          exchange.receiver.bank_id))
          and not (by.role_in(exchange.receiver.bank_id) in STAFF_ROLES
                   and not four_eyes.tied(by.id, exchange.giver.member_id))):
        # Waiting for a second coordinator (it awaits nobody): not the receiver's word.
        raise LedgerError(_("%(name)s enrolled you or looks after your account, so another "
                            "coordinator confirms the time you received from them.",
                            name=exchange.giver.label))
    if exchange.status != ExchangeStatus.PENDING:
        raise LedgerError(_("This exchange is already %(status)s.",
                            status=status_word(exchange.status)))
    return exchange


def _answer(exchange_id: int, by: Member, verb: str, reason: str = "", *, via: str = "",
            proxy: Member | None = None) -> Exchange:
    with write_transaction():
        exchange = _pending_for(exchange_id, by, verb)
        if proxy is not None:
            _check_proxy(proxy, by, exchange.receiver.bank_id, None,
                         exchange.giver.member_id if verb == "confirm" else None)
        if verb == "confirm":
            _post(exchange, by)
        else:
            _settle(exchange, ExchangeStatus.DECLINED if verb == "decline"
                    else ExchangeStatus.CANCELLED)
            exchange.reason = reason
        actor, detail = _actor(by, proxy, via)
        audit(actor, f"exchange.{verb}", "exchange", exchange.id, minutes=exchange.minutes,
              **({"reason": reason} if reason else {}), **detail)
        exchange_news.answered(exchange, by, verb, reason)
        if proxy is not None:
            exchange_news.done_by_proxy(exchange, by, proxy, verb)
    return exchange


def confirm_exchange(exchange_id: int, by: Member, *, via: str = "",
                     proxy: Member | None = None) -> Exchange:
    """The receiver (or staff, or the receiver's proxy) agrees: the time moves."""
    return _answer(exchange_id, by, "confirm", via=via, proxy=proxy)


DECLINE_REASON_MAX = 500


def decline_exchange(exchange_id: int, by: Member, reason: str = "", *, via: str = "",
                     proxy: Member | None = None) -> Exchange:
    """The receiver (or staff) says it did not happen so: nothing moves. The reason, if
    they give one, goes to the other side."""
    reason = " ".join((reason or "").split())[:DECLINE_REASON_MAX]
    return _answer(exchange_id, by, "decline", reason, via=via, proxy=proxy)


def cancel_exchange(exchange_id: int, by: Member) -> Exchange:
    """The recorder (or staff) withdraws an exchange nobody has confirmed yet."""
    return _answer(exchange_id, by, "cancel")


def reverse_exchange(exchange_id: int, by: Member, reason: str, idempotency_key: str) -> Recorded:
    """Correct a confirmed exchange by recording its mirror image."""
    banks = db.session.execute(select(Exchange.bank_id, Exchange.counter_bank_id)
                               .where(Exchange.id == exchange_id)).first()
    # A coordinator of a bank the exchange touches (the exchange's banks, not the page's).
    if banks is None or not any(by.is_staff_in(bank) for bank in banks if bank is not None):
        raise LedgerError(_("Only a coordinator can reverse an exchange."))
    parties = db.session.execute(
        select(Account.member_id).join(Exchange, (Account.id == Exchange.giver_account_id)
                                       | (Account.id == Exchange.receiver_account_id))
        .where(Exchange.id == exchange_id)).scalars().all()
    if any(four_eyes.tied(by.id, party) for party in parties):
        raise LedgerError(_("Another coordinator must reverse an exchange you took part in."),
                          "reason")
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError(_("Say why this exchange is being reversed."), "reason")
    prior = _existing(idempotency_key)
    if prior is not None:
        return _replay_reversal(prior, exchange_id, by)
    try:
        with write_transaction():
            original = _lock_exchange(exchange_id)
            _lock_accounts(_posting_ids(original))
            if original.reverses_id is not None:
                raise LedgerError(_("A reversal cannot itself be reversed; record a new exchange."))
            if original.status != ExchangeStatus.CONFIRMED:
                raise LedgerError(_("Only a confirmed exchange can be reversed."))
            done = db.session.scalar(select(Exchange).where(Exchange.reverses_id == original.id))
            if done is not None:
                raise LedgerError(_("This exchange was already reversed by exchange %(id)s.",
                                    id=done.id))
            reversal = Exchange(
                bank_id=original.counter_bank_id or original.bank_id,
                counter_bank_id=original.bank_id if original.counter_bank_id else None,
                giver_account_id=original.receiver_account_id,
                receiver_account_id=original.giver_account_id,
                minutes=original.minutes,
                service_date=original.service_date,
                category_id=original.category_id,
                description=f"Reversal of exchange {original.id}",
                recorded_by_id=by.id,
                idempotency_key=idempotency_key,
                reverses_id=original.id,
                reason=reason,
                status=ExchangeStatus.PENDING,
            )
            db.session.add(reversal)
            db.session.flush()
            _named(reversal)
            _post(reversal, by, correction=True)
            audit(
                by.id, "exchange.reverse", "exchange", original.id,
                reversal=reversal.id, reason=reason,
            )
            exchange_news.reversed_(original, reversal, by)
    except IntegrityError:
        prior = _existing(idempotency_key) or db.session.scalar(
            select(Exchange).where(Exchange.reverses_id == exchange_id)
        )
        if prior is None:
            raise
        return Recorded(prior, created=False)
    return Recorded(reversal, created=True)


def record_group_activity(
    *,
    participants: Sequence[Member],
    to_pool: bool,
    minutes: int,
    service_date: date,
    recorded_by: Member,
    idempotency_key: str,
    category_id: int | None = None,
    description: str = "",
    today: date | None = None,
    bank_id: int | None = None,
    second: Member | None = None,
) -> tuple[list[Exchange], bool]:
    """One activity, one confirmed exchange per participant, all or nothing.

    ``to_pool``: participants gave time to the community (they earn, the bank's
    pool pays); otherwise the community gave to them (they spend, the pool earns).
    The pool pays more than the bank's ``pool_alone_minutes`` only with a ``second``
    coordinator's agreement (``four_eyes``).
    """
    bank_id = _bank_id(bank_id, recorded_by)
    if recorded_by.role_in(bank_id) not in STAFF_ROLES:
        raise LedgerError(_("Only a coordinator can record a group activity."))
    if not participants:
        raise LedgerError(_("Choose at least one participant."), "participants")
    if len({p.id for p in participants}) != len(participants):
        raise LedgerError(_("A participant is listed twice."), "participants")
    if any(four_eyes.tied(recorded_by.id, p.id) for p in participants):
        # (Nor pay, from the pool, anyone they stand behind: a puppet of theirs.)
        raise LedgerError(_("Another coordinator must record an activity you take part in."),
                          "participants")
    existing = _activity_replay(idempotency_key, bank_id, recorded_by)
    if existing:
        return existing, False
    minutes = _check_minutes(minutes)
    _check_service_date(service_date, today)
    if second is not None and (four_eyes.tied(second.id, recorded_by.id)
                               or second.role_in(bank_id) not in STAFF_ROLES
                               or any(four_eyes.tied(second.id, p.id) for p in participants)):
        raise LedgerError(_("Another coordinator must agree to this payment."), "minutes")
    try:
        with write_transaction():
            pool = pool_account(bank_id)
            accounts = [open_account(member, bank_id) for member in participants]
            _lock_accounts([pool.id, *(a.id for a in accounts)])
            if _activity_replay(idempotency_key, bank_id, recorded_by):
                return activity_exchanges(idempotency_key), False
            # One activity above the bank's size, or small ones adding up to it within
            # POOL_WINDOW_DAYS, by one coordinator alone: a second agrees. Counted with
            # the pool locked, so forms sent at once cannot each see the others unpaid.
            bank = db.session.get(Bank, bank_id)
            if (to_pool and second is None
                    and minutes * len(participants) + _paid_alone_from_pool(
                        bank_id, recorded_by.id) > bank.pool_alone_minutes):
                raise SecondNeeded(_("Over %(time)s from the community pool needs a second "
                                     "coordinator to agree.",
                                     time=format_minutes(bank.pool_alone_minutes)), "minutes")
            made = []
            for member in participants:
                account = open_account(member, bank_id)
                giver, receiver = (account, pool) if to_pool else (pool, account)
                exchange = Exchange(
                    bank_id=bank_id,
                    giver_account_id=giver.id,
                    receiver_account_id=receiver.id,
                    minutes=minutes,
                    service_date=service_date,
                    category_id=category_id,
                    description=description,
                    recorded_by_id=recorded_by.id,
                    idempotency_key=_participant_key(idempotency_key, member.id),
                    activity_id=_activity_id(idempotency_key),
                    status=ExchangeStatus.PENDING,
                )
                db.session.add(exchange)
                db.session.flush()
                _named(exchange)
                _post(exchange, second or recorded_by)
                made.append(exchange)
            audit(
                recorded_by.id, "activity.record", "activity", None,
                activity=_activity_id(idempotency_key),
                participants=[p.id for p in participants], minutes=minutes, to_pool=to_pool,
                **({"agreed_by": second.id} if second else {}),
            )
            exchange_news.group_activity(made, recorded_by, to_pool)
    except IntegrityError:
        found = activity_exchanges(idempotency_key)
        if not found:
            raise
        return found, False
    return made, True


POOL_WINDOW_DAYS = 30


def _paid_alone_from_pool(bank_id: int, recorder_id: int) -> int:
    """Minutes the pool paid, in the last POOL_WINDOW_DAYS, for activities this coordinator
    recorded and confirmed alone (split into small ones, they would add up unseen)."""
    since = utcnow() - timedelta(days=POOL_WINDOW_DAYS)
    pool = select(Account.id).where(Account.bank_id == bank_id,
                                    Account.kind == AccountKind.SYSTEM).scalar_subquery()
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Exchange.minutes), 0))
        .where(Exchange.receiver_account_id == pool, Exchange.recorded_by_id == recorder_id,
               Exchange.confirmed_by_id == recorder_id,
               Exchange.status == ExchangeStatus.CONFIRMED, Exchange.reverses_id.is_(None),
               Exchange.created_at >= since)) or 0)


def _activity_replay(key: str, bank_id: int, recorded_by: Member) -> list[Exchange]:
    """The activity already recorded with this form key, if it is this bank's and this
    recorder's; anyone else's use of the key is refused (a key is its form's secret)."""
    found = activity_exchanges(key)
    if found and (found[0].bank_id != bank_id or found[0].recorded_by_id != recorded_by.id):
        raise LedgerError(_("This form has expired; please open it again."))
    return found


def _participant_key(activity_key: str, member_id: int) -> str:
    """Each participant's exchange key: unique per activity and member, and not one a
    member could guess and use first (the activity's own key is a secret of its form)."""
    return "activity-" + hashlib.sha256(f"{activity_key}\0{member_id}".encode()).hexdigest()[:55]


def _activity_id(key: str) -> str:
    """The activity's id from its form's key (which may be up to 64 characters; ids are 36)."""
    return key if len(key) <= 36 else hashlib.sha256(key.encode()).hexdigest()[:36]


def activity_exchanges(key: str) -> list[Exchange]:
    """The exchanges of the activity recorded with form key ``key``."""
    return list(
        db.session.scalars(
            select(Exchange).where(Exchange.activity_id == _activity_id(key))
            .order_by(Exchange.id)
        )
    )


def add_outcome(exchange_id: int, by: Member, score: int, text: str, share: bool) -> Outcome:
    """The receiver says what difference the exchange made (once), while it counts: not a
    reversal and not reversed. The exchange is locked first, so a reversal at the same
    moment waits and then takes the answer off the monthly figures with it."""
    with write_transaction():
        exchange = _lock_exchange(exchange_id)
        if exchange.receiver.member_id != by.id:
            raise LedgerError(_("Only the person who received the time can say what it "
                                "changed."))
        if exchange.status != ExchangeStatus.CONFIRMED:
            raise LedgerError(_("You can add an outcome once the exchange is confirmed."))
        reversed_ = db.session.scalar(select(Exchange.id)
                                      .where(Exchange.reverses_id == exchange_id))
        if exchange.reverses_id is not None or reversed_ is not None:
            raise LedgerError(_("This exchange was corrected, so it has no outcome."))
        if db.session.scalar(select(Outcome.id).where(Outcome.exchange_id == exchange_id)):
            raise LedgerError(_("You have already said what this exchange changed."))
        outcome = Outcome(exchange_id=exchange_id, author_id=by.id, score=score, text=text,
                          share_consent=share)
        db.session.add(outcome)
        rollups.count_outcome(exchange, score)
        audit(by.id, "outcome.add", "exchange", exchange_id, score=score, shared=share)
    return outcome


# -- checks -------------------------------------------------------------------


def check_ledger() -> list[str]:
    """Return one line per broken invariant (empty when the ledger is sound).

    1–4 as DESIGN.md says; 6: every bank's entries sum to zero, and the clearing
    accounts of each pair of banks mirror each other. Lines name the exchange,
    account or bank at fault.
    """
    problems: list[str] = []
    want = case((Exchange.counter_bank_id.is_(None), 2), else_=4)
    unbalanced = db.session.execute(
        select(Exchange.id, func.coalesce(func.sum(Entry.minutes), 0), func.count(Entry.id),
               want)
        .outerjoin(Entry, Entry.exchange_id == Exchange.id)
        .where(Exchange.status == ExchangeStatus.CONFIRMED)
        .group_by(Exchange.id, Exchange.counter_bank_id)
        .having((func.coalesce(func.sum(Entry.minutes), 0) != 0) | (func.count(Entry.id) != want))
    ).all()
    for ex_id, total, count, wanted in unbalanced:
        problems.append(f"exchange {ex_id}: {count} entries summing to {total} minutes "
                        f"(want {wanted}, 0)")
    stray = db.session.execute(
        select(Exchange.id, Exchange.status)
        .join(Entry, Entry.exchange_id == Exchange.id)
        .where(Exchange.status != ExchangeStatus.CONFIRMED)
        .group_by(Exchange.id, Exchange.status)
    ).all()
    for ex_id, status in stray:
        problems.append(f"exchange {ex_id}: status {status} but has entries")
    for entry_id, ex_id in db.session.execute(
            select(Entry.id, Entry.exchange_id).join(Exchange, Exchange.id == Entry.exchange_id)
            .where(Entry.service_date != Exchange.service_date)):
        problems.append(f"entry {entry_id}: date of service differs from exchange {ex_id}'s")
    sums = (
        select(Entry.account_id, func.sum(Entry.minutes).label("total"))
        .group_by(Entry.account_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Account.id, Account.name, Account.member_id, Account.balance, Account.floor,
               func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == Account.id)
        .order_by(Account.id)
    ).all()
    total_balance = 0
    for acc_id, name, member_id, balance, floor, entry_sum in rows:
        label = f"account {acc_id} ({name or f'member {member_id}'})"
        total_balance += balance
        if balance != entry_sum:
            problems.append(f"{label}: cached balance {balance} != sum of entries {entry_sum}")
        if floor is not None and entry_sum < floor:
            problems.append(f"{label}: balance {entry_sum} is below its floor {floor}")
    if total_balance != 0:
        problems.append(f"sum of all balances is {total_balance}, not 0")
    problems += _check_banks()
    problems += rollups.check()
    return problems


def _check_banks() -> list[str]:
    """Invariant 6: each bank's entries sum to zero; clearing accounts mirror pairwise."""
    problems = []
    slugs = dict(db.session.execute(select(Bank.id, Bank.slug)).all())
    for bank_id, total in db.session.execute(
        select(Account.bank_id, func.sum(Entry.minutes))
        .join(Entry, Entry.account_id == Account.id)
        .group_by(Account.bank_id)
        .having(func.sum(Entry.minutes) != 0)
    ):
        problems.append(f"bank {slugs.get(bank_id, bank_id)}: entries sum to {total} minutes, "
                        "not 0")
    # For each pair of banks, what each one's clearing account holds from exchanges
    # between the two: the pair must cancel out.
    held: dict[tuple[int, int], dict[int, int]] = {}
    first = Exchange.bank_id < Exchange.counter_bank_id
    low_bank = case((first, Exchange.bank_id), else_=Exchange.counter_bank_id)
    high_bank = case((first, Exchange.counter_bank_id), else_=Exchange.bank_id)
    for low, high, bank_id, total in db.session.execute(
        select(low_bank, high_bank, Account.bank_id, func.sum(Entry.minutes))
        .join(Entry, Entry.exchange_id == Exchange.id)
        .join(Account, Account.id == Entry.account_id)
        .where(Exchange.counter_bank_id.isnot(None), Account.kind == AccountKind.CLEARING)
        .group_by(low_bank, high_bank, Account.bank_id)
    ):
        held.setdefault((low, high), {})[bank_id] = int(total)
    for (low, high), by_bank in sorted(held.items()):
        a, b = by_bank.get(low, 0), by_bank.get(high, 0)
        if a + b != 0:
            problems.append(f"banks {slugs.get(low, low)} and {slugs.get(high, high)}: clearing "
                            f"accounts do not mirror ({slugs.get(low, low)} {a}, "
                            f"{slugs.get(high, high)} {b} minutes)")
    return problems


def counts() -> tuple[int, int]:
    """How many exchanges and accounts the ledger holds."""
    return (db.session.scalar(select(func.count(Exchange.id))) or 0,
            db.session.scalar(select(func.count(Account.id))) or 0)


def repair_balances() -> list[tuple[int, int, int]]:
    """Recompute cached balances from entries, and the monthly figures from the exchanges
    if they differ; return (account, old, new) per balance changed."""
    changed: list[tuple[int, int, int]] = []
    with write_transaction():
        sums = dict(
            db.session.execute(
                select(Entry.account_id, func.sum(Entry.minutes)).group_by(Entry.account_id)
            ).all()
        )
        accounts = db.session.scalars(
            select(Account).order_by(Account.id).with_for_update(of=Account)
        ).all()
        totals = rollups.expected_account_totals()
        for account in accounts:
            want = int(sums.get(account.id, 0) or 0)
            if account.balance != want:
                changed.append((account.id, account.balance, want))
                account.balance = want
            (account.given, account.received, account.exchanges_given,
             account.exchanges_received) = totals.get(account.id, (0, 0, 0, 0))
        if changed:
            audit(None, "ledger.repair_balances", "ledger", None, changes=changed)
        if rollups.check():
            rollups.rebuild()
            audit(None, "ledger.rebuild_monthly_figures", "ledger", None)
    return changed


def stamp_moved(session, account_ids, serial: int) -> None:
    """Stamp the accounts whose totals this transaction moved with the serial its commit
    gave the bank's give and take (``timebank.infra.cache`` calls this as the transaction
    commits), so the matching workbench reads again only those."""
    ids = sorted(account_ids)
    for start in range(0, len(ids), 5000):  # (SQLite's limit on bound values)
        session.connection().execute(update(Account).where(
            Account.id.in_(ids[start:start + 5000])).values(moved_serial=serial))


cache.on_moved(stamp_moved)


# -- bulk seeding (demo data and benchmarks) ----------------------------------


def open_accounts_bulk(member_ids: Sequence[int],
                       bank_id: int | None = None) -> dict[int, tuple[int, int | None]]:
    """Open accounts in the bank for members lacking one; return {account_id: (balance, floor)}."""
    bank_id = _bank_id(bank_id)
    floor = db.session.get(Bank, bank_id).default_floor
    wanted = set(member_ids)
    have = set(db.session.scalars(select(Account.member_id).where(
        Account.member_id.isnot(None), Account.bank_id == bank_id)))
    missing = [
        {"kind": AccountKind.MEMBER, "bank_id": bank_id, "member_id": mid, "balance": 0,
         "floor": floor, "name": ""}
        for mid in sorted(wanted - have)
    ]
    for offset in range(0, len(missing), 5000):
        db.session.execute(insert(Account), missing[offset : offset + 5000])
    db.session.commit()
    rows = db.session.execute(
        select(Account.id, Account.member_id, Account.balance, Account.floor).where(
            Account.member_id.isnot(None), Account.bank_id == bank_id)
    ).all()
    return {r.id: (r.balance, r.floor) for r in rows if r.member_id in wanted}


@dataclass(frozen=True)
class BulkExchange:
    giver_account_id: int
    receiver_account_id: int
    minutes: int
    service_date: date
    category_id: int | None
    description: str
    idempotency_key: str


def post_confirmed_bulk(exchanges: Sequence[BulkExchange]) -> int:
    """Write many confirmed exchanges at once (demo data, benchmarks); caller commits.

    The fast path: multi-row inserts instead of one transaction per exchange,
    with the same invariants (entries sum to zero, balances move by their
    entries, floors hold), which ``check_ledger`` confirms. Refuses the whole
    batch if any floor would be crossed.
    """
    if not exchanges:
        return 0
    for ex in exchanges:
        _check_minutes(ex.minutes)
    delta: dict[int, int] = {}
    for ex in exchanges:
        delta[ex.giver_account_id] = delta.get(ex.giver_account_id, 0) + ex.minutes
        delta[ex.receiver_account_id] = delta.get(ex.receiver_account_id, 0) - ex.minutes
    current = {a.id: a for a in db.session.execute(
        select(Account.id, Account.balance, Account.floor).where(Account.id.in_(list(delta)))
    )}
    # A batch's running balances may dip; the caller orders it so that none crosses a
    # floor at any point. Here we check where each account ends up.
    for account_id, moved in delta.items():
        row = current[account_id]
        if row.floor is not None and row.balance + moved < row.floor:
            # not for people: only the demo data comes this way
            raise LedgerError(f"account {account_id} would end below its floor")  # not for people
    now = utcnow()
    banks = dict(db.session.execute(
        select(Account.id, Account.bank_id).where(Account.id.in_(list(delta)))).all())
    if any(banks[ex.giver_account_id] != banks[ex.receiver_account_id] for ex in exchanges):
        raise LedgerError("the bulk path is for exchanges within one bank")  # not for people
    rows = [
        {"bank_id": banks[ex.giver_account_id], "counter_bank_id": None,
         "giver_account_id": ex.giver_account_id, "receiver_account_id": ex.receiver_account_id,
         "minutes": ex.minutes, "category_id": ex.category_id, "description": ex.description,
         "service_date": ex.service_date, "status": ExchangeStatus.CONFIRMED,
         "idempotency_key": ex.idempotency_key, "reason": "", "awaiting_member_id": None,
         "activity_id": None, "reverses_id": None, "settled_at": now, "created_at": now}
        for ex in exchanges]
    rollups.describe_bulk(rows)
    new_ids = db.session.scalars(insert(Exchange).returning(Exchange.id), rows).all()
    entry_rows = []
    for ex_id, ex in zip(new_ids, exchanges, strict=True):
        entry_rows.append({"account_id": ex.receiver_account_id, "exchange_id": ex_id,
                           "minutes": -ex.minutes, "service_date": ex.service_date})
        entry_rows.append({"account_id": ex.giver_account_id, "exchange_id": ex_id,
                           "minutes": ex.minutes, "service_date": ex.service_date})
    db.session.execute(insert(Entry), entry_rows)
    db.session.execute(update(Account).where(Account.id.in_(list(delta)))
                       .values(last_exchange_at=now))
    rollups.count_bulk(Exchange(id=ex_id, **{k: row[k] for k in (
        "bank_id", "counter_bank_id", "giver_account_id", "receiver_account_id", "minutes",
        "service_date", "category_id", "area_id", "receiver_gives_id")})
        for ex_id, row in zip(new_ids, rows, strict=True))
    table = cast(Table, Account.__table__)
    given: dict[int, int] = dict.fromkeys(delta, 0)
    received: dict[int, int] = dict.fromkeys(delta, 0)
    gave_n: dict[int, int] = dict.fromkeys(delta, 0)
    got_n: dict[int, int] = dict.fromkeys(delta, 0)
    for ex in exchanges:
        given[ex.giver_account_id] += ex.minutes
        received[ex.receiver_account_id] += ex.minutes
        gave_n[ex.giver_account_id] += 1
        got_n[ex.receiver_account_id] += 1
    db.session.execute(
        update(table).where(table.c.id == bindparam("aid"))
        .values(balance=table.c.balance + bindparam("moved"),
                given=table.c.given + bindparam("gave"),
                received=table.c.received + bindparam("got"),
                exchanges_given=table.c.exchanges_given + bindparam("gave_n"),
                exchanges_received=table.c.exchanges_received + bindparam("got_n")),
        [{"aid": a, "moved": m, "gave": given[a], "got": received[a], "gave_n": gave_n[a],
          "got_n": got_n[a]} for a, m in delta.items()],
    )
    by_bank: dict[int, list[int]] = defaultdict(list)
    for account_id in delta:
        by_bank[banks[account_id]].append(account_id)
    for bank_id, account_ids in sorted(by_bank.items()):  # Core writes: the flush never saw
        cache.moved(bank_id, account_ids)
    return len(exchanges)

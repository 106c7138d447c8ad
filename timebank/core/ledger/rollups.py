"""Monthly figures the ledger keeps beside the entries, so that reports over years of
history read a few rows per month instead of every exchange.

What counts is one rule (``counted``): a confirmed exchange that is neither a
reversal nor reversed. Confirming adds an exchange to its month; reversing takes
the original off again (the reversal itself never counts). Only the ledger calls
the writers here, inside the transaction that moves the time, with the parties'
accounts already locked, so the figures can never disagree with the entries;
``check`` proves it and ``rebuild`` recomputes them from the exchanges.

- ``MonthTotal``: exchanges and minutes per month, bank pair, kind of help, the
  receiver's named area and the kind of help the receiver gives (``describe``).
- ``OutcomeMonth``: outcome answers per month, bank pair, kind of help, area and score.
- ``AccountMonth``: each account's running totals given and received, one row for
  each month it took part in; a period's figure is the difference of two rows.
- ``MonthPerson``: who is behind each cell of the first two (each member's account once
  per month and cell), so council figures are hidden by distinct people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    Date,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from timebank.core.models import (
    Account,
    AccountKind,
    AccountMonth,
    Exchange,
    ExchangeStatus,
    Member,
    MonthPerson,
    MonthTotal,
    Outcome,
    OutcomeMonth,
)
from timebank.core.models.assets import area_named
from timebank.infra.extensions import db

_REVERSAL = aliased(Exchange)


def counted():
    """The exchanges reports count: confirmed, and neither a reversal nor reversed."""
    # coalesce(): "reverses_id IS NULL" holds for nearly every row, and SQLite would
    # otherwise walk the reverses_id index to find them instead of a better one.
    return and_(Exchange.status == ExchangeStatus.CONFIRMED,
                func.coalesce(Exchange.reverses_id, 0) == 0,
                ~exists().where(_REVERSAL.reverses_id == Exchange.id))


def month_of(day: date) -> date:
    return day.replace(day=1)


def touching(bank_ids: list[int], table=MonthTotal):
    """Rows about exchanges in or with any of these banks (each exchange once)."""
    return or_(table.bank_id.in_(bank_ids), table.counter_bank_id.in_(bank_ids))


def _key(exchange: Exchange) -> dict:
    return {"month": month_of(exchange.service_date), "bank_id": exchange.bank_id,
            "counter_bank_id": exchange.counter_bank_id or 0,
            "category_id": exchange.category_id or 0, "area_id": exchange.area_id or 0}


def _total_key(exchange: Exchange) -> dict:
    return {**_key(exchange), "gives_id": exchange.receiver_gives_id or 0}


def main_kind_given(account_id: int):
    """The kind of help an account has given most hours in (None: none yet); ties go
    to the kind listed first."""
    return (select(Exchange.category_id)
            .where(Exchange.giver_account_id == account_id, Exchange.category_id.is_not(None),
                   counted())
            .group_by(Exchange.category_id)
            .order_by(func.sum(Exchange.minutes).desc(), Exchange.category_id).limit(1))


def describe(exchange: Exchange) -> None:
    """Fix the facts reports group by on an exchange being confirmed: the receiver's
    named area and the kind of help the receiver gives. Set once, while confirming."""

    exchange.area_id = db.session.scalar(
        select(area_named(Member.neighbourhood)).select_from(Member)
        .join(Account, Account.member_id == Member.id)
        .where(Account.id == exchange.receiver_account_id))
    exchange.receiver_gives_id = db.session.scalar(main_kind_given(exchange.receiver_account_id))


def _upsert(model, rows: list[dict], keys: tuple[str, ...], adds: tuple[str, ...]) -> None:
    """Insert each row, or add its figures to the row with the same key."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    dialect = db.session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in adds})
    db.session.execute(statement, rows)


def describe_bulk(rows: list[dict]) -> None:
    """``describe`` for many new exchanges at once, in their order (demo data)."""

    accounts = {r["receiver_account_id"] for r in rows} | {r["giver_account_id"] for r in rows}
    areas: dict[int, str] = dict(db.session.execute(
        select(Account.id, area_named(Member.neighbourhood))
        .join(Member, Member.id == Account.member_id).where(Account.id.in_(accounts))).all())
    given: dict[int, dict[int, int]] = defaultdict(dict)
    for account, kind, minutes in db.session.execute(
            select(Exchange.giver_account_id, Exchange.category_id, func.sum(Exchange.minutes))
            .where(Exchange.giver_account_id.in_(accounts), Exchange.category_id.is_not(None),
                   counted()).group_by(Exchange.giver_account_id, Exchange.category_id)):
        given[account][kind] = int(minutes)
    for row in rows:
        kinds = given[row["receiver_account_id"]]
        row["area_id"] = areas.get(row["receiver_account_id"])
        row["receiver_gives_id"] = min(kinds, key=lambda k: (-kinds[k], k)) if kinds else None
        if row["category_id"] is not None:
            mine = given[row["giver_account_id"]]
            mine[row["category_id"]] = mine.get(row["category_id"], 0) + row["minutes"]


_KEY = ("month", "bank_id", "counter_bank_id", "category_id", "area_id")
_TOTAL_KEY = (*_KEY, "gives_id")
_OUTCOME_KEY = (*_KEY, "score")
_PERSON_KEY = (*_KEY, "gives_id", "score", "role", "account_id")


def _member_accounts(ids) -> set[int]:
    """Which of these accounts are people's (not the pool's or a clearing account)."""
    return set(db.session.scalars(select(Account.id).where(
        Account.id.in_(list(ids)), Account.kind == AccountKind.MEMBER)))


def _people(rows: dict[tuple, int]) -> None:
    """Add events to ``MonthPerson`` rows keyed as ``_PERSON_KEY``."""
    _upsert(MonthPerson, [{**dict(zip(_PERSON_KEY, key, strict=True)), "events": n}
                          for key, n in rows.items() if n], _PERSON_KEY, ("events",))


def _exchange_people(exchange: Exchange, sign: int, members: set[int]) -> dict[tuple, int]:
    key = tuple(_total_key(exchange).values())
    return {(*key, 0, role, account): sign for role, account in
            (("g", exchange.giver_account_id), ("r", exchange.receiver_account_id))
            if account in members}


def _move_accounts(moves: dict[tuple[int, date], list[int]]) -> None:
    """Add (given, received) minutes to accounts' running totals from a month on: first
    a row for each month not yet there, carrying the totals of the month before; then
    the move, to that month and every later one (the ledger holds the accounts' locks)."""
    if not moves:
        return
    table = cast(Table, AccountMonth.__table__)
    account: Any = bindparam("a")
    month: Any = bindparam("m", type_=Date)

    def before(column):
        return func.coalesce(select(column).where(table.c.account_id == account,
                                                  table.c.month < month)
                             .order_by(table.c.month.desc()).limit(1).scalar_subquery(), 0)

    dialect = db.session.get_bind().dialect.name
    add_month = ((pg_insert if dialect == "postgresql" else sqlite_insert)(table)
                 .values(account_id=account, month=month, given=before(table.c.given),
                         received=before(table.c.received))
                 .on_conflict_do_nothing(index_elements=["account_id", "month"]))
    keys = sorted(moves)
    db.session.execute(add_month, [{"a": a, "m": m} for a, m in keys])
    db.session.execute(
        update(table).where(table.c.account_id == account, table.c.month >= month)
        .values(given=table.c.given + bindparam("dg"),
                received=table.c.received + bindparam("dr")),
        [{"a": a, "m": m, "dg": moves[(a, m)][0], "dr": moves[(a, m)][1]} for a, m in keys])


def count(exchange: Exchange, sign: int = 1) -> None:
    """Add a newly confirmed exchange to its month (``sign=-1``: take a reversed one off,
    with its outcome if it had one)."""
    m = exchange.minutes * sign
    _upsert(MonthTotal, [{**_total_key(exchange), "exchanges": sign, "minutes": m}],
            _TOTAL_KEY, ("exchanges", "minutes"))
    _people(_exchange_people(exchange, sign, _member_accounts(
        [exchange.giver_account_id, exchange.receiver_account_id])))
    month = month_of(exchange.service_date)
    _move_accounts({(exchange.giver_account_id, month): [m, 0],
                    (exchange.receiver_account_id, month): [0, m]})
    if sign < 0:
        score = db.session.scalar(select(Outcome.score)
                                  .where(Outcome.exchange_id == exchange.id))
        if score is not None:
            count_outcome(exchange, score, -1)


def count_outcome(exchange: Exchange, score: int, sign: int = 1) -> None:
    _upsert(OutcomeMonth, [{**_key(exchange), "score": score, "answers": sign}],
            _OUTCOME_KEY, ("answers",))
    # The receiver answers; only a member's account can.
    _people({(*_key(exchange).values(), 0, score, "o", exchange.receiver_account_id): sign})


def count_bulk(exchanges: Iterable[Exchange]) -> None:
    """Many new confirmed exchanges at once (demo data, benchmarks), already described."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    moves: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    people: dict[tuple, int] = defaultdict(int)
    exchanges = list(exchanges)
    members = _member_accounts({a for ex in exchanges
                                for a in (ex.giver_account_id, ex.receiver_account_id)})
    for ex in exchanges:
        for person in _exchange_people(ex, 1, members):
            people[person] += 1
        key = tuple(_total_key(ex).values())
        totals[key][0] += 1
        totals[key][1] += ex.minutes
        moves[(ex.giver_account_id, key[0])][0] += ex.minutes
        moves[(ex.receiver_account_id, key[0])][1] += ex.minutes
    _upsert(MonthTotal, [{**dict(zip(_TOTAL_KEY, key, strict=True)), "exchanges": n,
                          "minutes": minutes} for key, (n, minutes) in totals.items()],
            _TOTAL_KEY, ("exchanges", "minutes"))
    _people(people)
    _move_accounts(moves)


# -- recomputing from the exchanges ---------------------------------------------------


def _year_month():
    return extract("year", Exchange.service_date), extract("month", Exchange.service_date)


def _month(year, month) -> date:
    return date(int(year), int(month), 1)


def _described():
    return (Exchange.bank_id, func.coalesce(Exchange.counter_bank_id, 0),
            func.coalesce(Exchange.category_id, 0), func.coalesce(Exchange.area_id, 0))


def _expected_totals() -> dict[tuple, tuple[int, int]]:
    year, month = _year_month()
    key = (*_described(), func.coalesce(Exchange.receiver_gives_id, 0))
    return {(_month(y, m), *rest): (int(n), int(minutes)) for y, m, *rest, n, minutes
            in db.session.execute(select(year, month, *key, func.count(),
                                         func.sum(Exchange.minutes))
                                  .where(counted()).group_by(year, month, *key))}


def _expected_outcomes() -> dict[tuple, int]:
    year, month = _year_month()
    key = (*_described(), Outcome.score)
    return {(_month(y, m), *rest): int(n) for y, m, *rest, n in db.session.execute(
        select(year, month, *key, func.count()).join(Outcome, Outcome.exchange_id == Exchange.id)
        .where(counted()).group_by(year, month, *key))}


def _expected_people() -> dict[tuple, int]:
    """(``_PERSON_KEY``) -> events, from the exchanges and their outcomes."""
    year, month = _year_month()
    found: dict[tuple, int] = {}
    # Each statement groups by the very expressions it selects (PostgreSQL compares them).
    for role, side in (("g", Exchange.giver_account_id), ("r", Exchange.receiver_account_id)):
        key = (year, month, *_described(), func.coalesce(Exchange.receiver_gives_id, 0), side)
        for y, m, *rest, account, n in db.session.execute(
                select(*key, func.count()).join(Account, Account.id == side)
                .where(counted(), Account.kind == AccountKind.MEMBER).group_by(*key)):
            found[(_month(y, m), *rest, 0, role, account)] = int(n)
    key = (year, month, *_described(), Outcome.score, Exchange.receiver_account_id)
    for y, m, *rest, score, account, n in db.session.execute(
            select(*key, func.count()).join(Outcome, Outcome.exchange_id == Exchange.id)
            .where(counted()).group_by(*key)):
        found[(_month(y, m), *rest, 0, score, "o", account)] = int(n)
    return found


def _expected_accounts():
    """(account, year, month, running given, running received) from the exchanges."""
    year, month = _year_month()
    sides = union_all(
        select(Exchange.giver_account_id.label("account_id"), year.label("y"),
               month.label("m"), Exchange.minutes.label("given"), literal(0).label("received"))
        .where(counted()),
        select(Exchange.receiver_account_id, year, month, literal(0), Exchange.minutes)
        .where(counted())).subquery()
    per_month = (select(sides.c.account_id, sides.c.y, sides.c.m,
                        func.sum(sides.c.given).label("given"),
                        func.sum(sides.c.received).label("received"))
                 .group_by(sides.c.account_id, sides.c.y, sides.c.m).subquery())
    order = (per_month.c.y, per_month.c.m)
    return select(per_month.c.account_id, per_month.c.y, per_month.c.m,
                  func.sum(per_month.c.given).over(partition_by=per_month.c.account_id,
                                                   order_by=order),
                  func.sum(per_month.c.received).over(partition_by=per_month.c.account_id,
                                                      order_by=order))


def expected_account_totals() -> dict[int, tuple[int, int, int, int]]:
    """(minutes given, minutes received, exchanges given, exchanges received) per account
    that took part in a counted exchange."""
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for side, index in ((Exchange.giver_account_id, 0), (Exchange.receiver_account_id, 1)):
        for account, minutes, n in db.session.execute(
                select(side, func.sum(Exchange.minutes), func.count())
                .where(counted()).group_by(side)):
            found[account][index] += int(minutes)
            found[account][index + 2] += int(n)
    return {a: (totals[0], totals[1], totals[2], totals[3]) for a, totals in found.items()}


def _rebuild_accounts() -> None:
    table = cast(Table, AccountMonth.__table__)
    db.session.execute(delete(table))
    rows = [{"account_id": a, "month": _month(y, m), "given": int(g), "received": int(r)}
            for a, y, m, g, r in db.session.execute(_expected_accounts())]
    for offset in range(0, len(rows), 5000):
        db.session.execute(table.insert(), rows[offset:offset + 5000])


def rebuild() -> None:
    """Recompute every monthly figure from the exchanges (caller commits)."""
    db.session.execute(delete(MonthTotal))
    db.session.execute(delete(OutcomeMonth))
    _upsert(MonthTotal, [{**dict(zip(_TOTAL_KEY, key, strict=True)), "exchanges": n,
                          "minutes": minutes}
                         for key, (n, minutes) in _expected_totals().items()],
            _TOTAL_KEY, ("exchanges", "minutes"))
    _upsert(OutcomeMonth, [{**dict(zip(_OUTCOME_KEY, key, strict=True)), "answers": n}
                           for key, n in _expected_outcomes().items()],
            _OUTCOME_KEY, ("answers",))
    db.session.execute(delete(MonthPerson))
    _people(_expected_people())
    _rebuild_accounts()


def _differences(what: str, kept: dict, want: dict) -> list[str]:
    return [f"{what} {key}: kept {kept.get(key)}, the exchanges say {want.get(key)}"
            for key in sorted(set(kept) | set(want), key=str) if kept.get(key) != want.get(key)]


def check() -> list[str]:
    """One line per monthly figure that differs from a count of the exchanges."""
    t, o, a = MonthTotal, OutcomeMonth, AccountMonth
    kept_totals = {tuple(r[:6]): (r[6], r[7]) for r in db.session.execute(
        select(t.month, t.bank_id, t.counter_bank_id, t.category_id, t.area_id, t.gives_id,
               t.exchanges, t.minutes)) if r[6] or r[7]}
    kept_outcomes = {tuple(r[:6]): r[6] for r in db.session.execute(
        select(o.month, o.bank_id, o.counter_bank_id, o.category_id, o.area_id, o.score,
               o.answers)) if r[6]}
    want_accounts: dict[tuple[int, date], tuple[int, int]] = {}
    for acc, y, m, given, received in db.session.execute(_expected_accounts()):
        want_accounts[(acc, _month(y, m))] = (int(given), int(received))
    kept_accounts = {}
    # (account, running totals so far) in account, month order
    carried: tuple[int | None, tuple[int, int]] = (None, (0, 0))
    for acc, month, given, received in db.session.execute(
            select(a.account_id, a.month, a.given, a.received).order_by(a.account_id, a.month)):
        kept_accounts[(acc, month)] = (given, received)
        before = carried[1] if carried[0] == acc else (0, 0)
        # A month whose every exchange was reversed keeps its row, carrying the running
        # totals of the month before; so does any earlier month the exchanges skip.
        want_accounts.setdefault((acc, month), before)
        carried = (acc, want_accounts[(acc, month)])
    p = MonthPerson
    kept_people = {tuple(r[:-1]): r[-1] for r in db.session.execute(
        select(*(p.__table__.c[name] for name in _PERSON_KEY), p.events)) if r[-1]}
    kept_all_time = {a: tuple(kept) for a, *kept in db.session.execute(
        select(Account.id, Account.given, Account.received, Account.exchanges_given,
               Account.exchanges_received)) if any(kept)}
    return (_differences("monthly figures", kept_totals, _expected_totals())
            + _differences("given and received (minutes, exchanges) of account", kept_all_time,
                           expected_account_totals())
            + _differences("outcome figures", kept_outcomes, _expected_outcomes())
            + _differences("people behind the figures", kept_people, _expected_people())
            + _differences("running totals of account, month", kept_accounts, want_accounts))

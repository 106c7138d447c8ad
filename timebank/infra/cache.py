"""Data built once and served many times (the published asset register's map data,
GeoJSON, CSV and coverage-gap grid, with HTTP validators so a repeat visit gets 304;
the matching workbench's candidates' profiles and give and take).

Each cached thing is built from data with a named version in the database
(``DataVersion``). Any ORM flush that touches a watched model bumps that version in
the same transaction, so every gunicorn worker sees a change at its next request; code
that writes the watched tables with Core statements calls ``bump`` itself. A worker
keeps what it built in memory, keyed by the version, within a byte budget.

Each bump draws a new random version: a database emptied (tests), or restored from a
backup and changed again, can then never meet a cached body of other data under the
same number.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from flask import Response, g, has_request_context, request
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from timebank.core.models import (
    Account,
    Asset,
    AssetCategory,
    DataVersion,
    Listing,
    Member,
    Membership,
    Neighbourhood,
)
from timebank.infra.extensions import db

REGISTER = "register"  # published assets, their kinds and the named neighbourhoods
CANDIDATES = "candidates"  # who could be asked to help: profiles, memberships, offers
GIVE_AND_TAKE = "give-and-take"  # one bank's minutes given and received (``give_and_take``)
WATCHED: dict[type, str] = {Asset: REGISTER, AssetCategory: REGISTER, Neighbourhood: REGISTER,
                            Member: CANDIDATES, Membership: CANDIDATES, Listing: CANDIDATES,
                            Account: GIVE_AND_TAKE}
# A change to a member counts only in what matching reads (a digest sent, a session
# ended or a password changed is not news to it); to an account, only its totals (a
# balance moves with every exchange, pending ones included).
WATCHED_COLUMNS: dict[type, tuple[str, ...]] = {
    Member: ("display_name", "skills", "public_latitude", "public_longitude", "status",
             "matching_opt_out"),
    Account: ("given", "received"),
}
# An account's version is its bank's (``give_and_take``): one bank's exchanges are no
# news to another's workbench. Which accounts moved is stamped on them (``moved``).
BUDGET_BYTES = 64 * 1024 * 1024  # per worker
FRAGMENT_BUDGET_BYTES = 8 * 1024 * 1024  # per worker
GZIP_FROM = 256  # smaller bodies go as they are (gzip would not save a packet)


BUMPS = "timebank_data_version_bumps"  # Session.info: this transaction's new versions
# Session.info: the accounts whose totals this transaction moved, per give-and-take
# version; a version bumped without saying which is read again in full (a new epoch).
MOVED = "timebank_moved_accounts"


@dataclass(frozen=True)
class Stamp:
    """A data version as read: its number, and (see ``DataVersion``) how many times it
    moved and in which epoch; both None for a version this transaction moved and has
    not yet committed."""

    version: int
    serial: int | None = 0
    epoch: int | None = 0


def stamp(name: str) -> Stamp:
    """The current version of ``name`` (0 before anything was ever written), read once
    per request: a map page asks for several things built from the same version. A
    transaction that changed the data sees its own new version."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        session.flush()  # the flush may bump: what this transaction built is its own
    own = session.info.get(BUMPS)
    if own and name in own:
        return Stamp(own[name], None, None)
    memo = g.setdefault("_data_versions", {}) if has_request_context() else {}
    if name not in memo:
        row = session.execute(select(DataVersion.version, DataVersion.serial, DataVersion.epoch)
                              .where(DataVersion.name == name)).first()
        memo[name] = Stamp(*row) if row is not None else Stamp(0)
    return memo[name]


def version(name: str) -> int:
    """``stamp(name)``'s number."""
    return stamp(name).version


def moved(bank_id: int, account_ids, session: Session | None = None) -> None:
    """The ledger moved these accounts' totals in the bank (None: it cannot say which),
    in the caller's transaction. For writes the ORM's flush does not see: it reports
    its own."""
    session = session if session is not None else db.session()
    name = give_and_take(bank_id)
    _bump(name, session)
    marks = session.info.setdefault(MOVED, {})
    if account_ids is None:
        marks[name] = None
    elif marks.get(name, ()) is not None:
        marks[name] = {*marks.get(name, ()), *account_ids}


def bump(name: str, session: Session | None = None) -> None:
    """Mark ``name``'s data changed, in the caller's transaction. (For a bank's give and
    take, ``moved`` says which accounts moved; a bump alone has it all read again.)

    The new version is written when the transaction commits, after everything else it
    does: the version rows are then the last locks a transaction takes, always in the
    same order (PostgreSQL: no deadlock with the ledger's account locks), and are held
    only while it commits. Until then only this transaction sees the new number.
    """
    # A fresh random number on every bump, not the next one: a database restored from a
    # backup and changed again can never come back to a number some worker or browser
    # still holds, and nothing built before this change is kept under the new number.
    session = session if session is not None else db.session()
    _bump(name, session)
    if name.startswith(GIVE_AND_TAKE + ":"):
        session.info.setdefault(MOVED, {})[name] = None


def _bump(name: str, session: Session) -> None:
    session.connection()  # in a transaction, so that its rollback forgets the bump
    session.info.setdefault(BUMPS, {})[name] = secrets.randbelow(2**52) + 1


@event.listens_for(Session, "before_commit")
def _write_bumps(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook, and may bump
    if session.in_nested_transaction():
        return  # a savepoint released (this hook runs then too): the commit writes them
    bumps = session.info.pop(BUMPS, None)
    moved = session.info.pop(MOVED, {})
    if not bumps:
        return
    table = DataVersion.__table__
    upsert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)
    for name in sorted(bumps):
        # One statement: two transactions moving a version that has no row yet must
        # not both insert it. The row stays locked until the commit, so the serials
        # count the commits in order.
        statement = upsert(table).values(name=name, version=bumps[name], serial=1,
                                         epoch=secrets.randbelow(2**52) + 1)
        changes = {"version": statement.excluded.version, "serial": table.c.serial + 1}
        if moved.get(name) is None:
            changes["epoch"] = statement.excluded.epoch
        serial = session.connection().execute(statement.on_conflict_do_update(
            index_elements=[table.c.name], set_=changes).returning(table.c.serial)).scalar_one()
        if moved.get(name):
            from timebank.core.ledger.writer import stamp_moved  # the ledger alone writes accounts

            stamp_moved(session, moved[name], serial)
    if has_request_context():
        g.pop("_data_versions", None)  # the request reads the versions it wrote


def give_and_take(bank_id: int) -> str:
    """The name of the version that moves whenever the ledger moves a bank's totals."""
    return f"{GIVE_AND_TAKE}:{bank_id}"


def _changed(session: Session, obj) -> bool:
    columns = WATCHED_COLUMNS.get(type(obj))
    if columns is None:
        return session.is_modified(obj)
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in columns)


@event.listens_for(Session, "after_soft_rollback")
def _forget_versions(session: Session, previous) -> None:
    """A rolled-back transaction's bumps never happened: read the versions afresh. (A
    savepoint's rollback keeps them: a version moved for nothing only rebuilds a cache.)"""
    if previous.parent is None and not previous.nested:
        session.info.pop(BUMPS, None)
        session.info.pop(MOVED, None)
    elif session.info.get(MOVED):
        # Accounts the savepoint moved may have moved back: stamping them would lock rows
        # this transaction no longer holds, after the version's row. Read all again.
        session.info[MOVED] = dict.fromkeys(session.info[MOVED])
    if has_request_context():
        g.pop("_data_versions", None)


def _touches(session: Session, obj) -> bool:
    if type(obj) not in WATCHED:
        return False
    if obj in session.dirty:
        return _changed(session, obj)
    # A new account with nothing given or received changes no totals.
    return not (type(obj) is Account and obj in session.new and not (obj.given or obj.received))


@event.listens_for(Session, "after_flush")
def _bump_touched(session: Session, _context) -> None:
    touched = [obj for obj in chain(session.new, session.deleted, session.dirty)
               if _touches(session, obj)]
    for name in sorted({WATCHED[type(obj)] for obj in touched if type(obj) is not Account}):
        bump(name, session)
    for account in touched:
        if type(account) is Account:  # (an account gone leaves no row to stamp)
            moved(account.bank_id, None if account in session.deleted else (account.id,),
                  session)


class _Store:
    """What this worker built: (engine, name, version, key) -> value, least recently
    used first out once over budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple):
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found[0] if found else None

    def put(self, key: tuple, value, size: int) -> None:
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (value, size)
            self.used += size
            while self.used > self.budget and len(self.items) > 1:
                _key, (_value, old) = self.items.popitem(last=False)
                self.used -= old

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.used = 0


_store = _Store(BUDGET_BYTES)
# Drawn markup has a store of its own, so it can never push out what is costly to build.
_fragments = _Store(FRAGMENT_BUDGET_BYTES)


def fragment(key: tuple, render: Callable[[], str]) -> str:
    """Markup drawn once per ``key`` and worker (``{% call remember(key) %}`` in a
    template). ``key`` must name everything the markup shows; the page's language and
    what its addresses depend on (the site's root, the bank) are added here. Only for
    markup that is the same for everyone who may see the page: no CSRF token inside."""
    full = (key, *_fragment_context())
    found = _fragments.get(full)
    if found is None:
        found = render()
        _fragments.put(full, found, 2 * len(found) + 256)
    return found


def _fragment_context() -> tuple:
    """What every fragment of this request also depends on: the database, the page's
    language and what its addresses depend on (the site's root; the bank's slug, which
    they carry only while there are several banks). Worked out once per request: a
    list draws a fragment per row."""
    from flask_babel import get_locale

    from timebank.web.tenancy import bank_count, current_bank

    found = g.get("_fragment_context")
    # Worked out again if the language (an e-mail in its reader's), the bank or the root
    # changed since.
    if found is None or found[0] != (get_locale(), g.get("bank"), request.script_root):
        bank = current_bank()
        found = g._fragment_context = (
            (get_locale(), g.get("bank"), request.script_root), str(db.engine.url),
            str(get_locale()), request.script_root, bank.slug if bank is not None else None,
            bank_count() > 1)
    return found[1:]


def built(name: str, key: tuple, build: Callable[[int], Any],
          size: Callable[[Any], int] = lambda value: 1024) -> Any:
    """``build(version)``'s value for the current version of ``name``, built at most once
    per version and worker."""
    current = version(name)
    full = (str(db.engine.url), name, current, key)
    value = _store.get(full)
    if value is None:
        value = build(current)
        _store.put(full, value, size(value))
    return value


@dataclass(frozen=True)
class Body:
    """A response body built once: its bytes, gzipped bytes and validator."""

    data: bytes
    zipped: bytes | None
    etag: str
    mimetype: str

    @classmethod
    def of(cls, data: bytes, mimetype: str, tag: str) -> Body:
        zipped = gzip.compress(data, compresslevel=6, mtime=0) if len(data) >= GZIP_FROM else None
        return cls(data, zipped, tag, mimetype)

    @property
    def size(self) -> int:
        return len(self.data) + len(self.zipped or b"")


def body(name: str, key: tuple, build: Callable[[], bytes], mimetype: str) -> Body:
    """A body built from ``name``'s data, once per version and worker; its validator
    names the version and what was asked for."""

    def make(current: int) -> Body:
        digest = hashlib.blake2b(repr(key).encode(), digest_size=6).hexdigest()
        return Body.of(build(), mimetype, f"{name}-{current}-{digest}")

    return built(name, ("body", *key), make, lambda b: b.size)


def send(found: Body, filename: str | None = None) -> Response:
    """The body, or 304 when the client holds this version; gzipped when accepted.
    ``private, no-cache`` with a validator: the browser keeps it and asks each time,
    cheaply; shared caches keep nothing (a response may carry a session cookie)."""
    zipped = found.zipped is not None and "gzip" in request.headers.get("Accept-Encoding", "")
    etag = found.etag + ("-gz" if zipped else "")
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(found.zipped if zipped else found.data, mimetype=found.mimetype)
        if zipped:
            response.headers["Content-Encoding"] = "gzip"
        if filename:
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Accept-Encoding")
    return response

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
from typing import Any, cast

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from timebank.infra.extensions import db
from timebank.infra.tables import DataVersion

REGISTER = "register"  # published assets, their kinds and the named neighbourhoods
CANDIDATES = "candidates"  # who could be asked to help: profiles, memberships, offers
KINDS = "kinds"  # the kinds of help and their names in each language
ERASED = "erased"  # members erased: whatever may name people is worked out again
GIVE_AND_TAKE = "give-and-take"  # one bank's minutes given and received (``give_and_take``)
# Which models' changes move which version, and (where not every change counts) which
# of their columns: the domain declares them (``watch``, in core/models/__init__.py), so
# this module knows no model of it.
WATCHED: dict[type, str] = {}
WATCHED_COLUMNS: dict[type, tuple[str, ...]] = {}
# The model whose rows are stamped with the serial that moved them (the ledger's
# accounts, per bank: ``watch_moves``), and the ledger's function that stamps them.
_moving: Any = None  # (a model class)
_stamp_moved: Callable[[Session, set, int], None] | None = None


def watch(model: type, name: str, columns: tuple[str, ...] | None = None) -> None:
    """Any flush that adds, deletes or changes a ``model`` row (in ``columns``, if given)
    moves the version ``name``."""
    WATCHED[model] = name
    if columns is not None:
        WATCHED_COLUMNS[model] = columns


def watch_moves(model: type, columns: tuple[str, ...]) -> None:
    """Rows of ``model`` (with a ``bank_id``) move their bank's give-and-take version, and
    which rows moved is stamped on them (``on_moved``) as the version is written."""
    global _moving
    watch(model, GIVE_AND_TAKE, columns)
    _moving = model


def on_moved(stamp: Callable[[Session, set, int], None]) -> None:
    """``stamp(session, ids, serial)`` marks the rows that moved (the ledger's writer
    registers it: it alone writes accounts)."""
    global _stamp_moved
    _stamp_moved = stamp


BUDGET_BYTES = 64 * 1024 * 1024  # per worker
GZIP_FROM = 256  # smaller bodies go as they are (gzip would not save a packet)


BUMPS = "timebank_data_version_bumps"  # Session.info: this transaction's new versions
# Session.info: the accounts whose totals this transaction moved, per give-and-take
# version; a version bumped without saying which is read again in full (a new epoch).
MOVED = "timebank_moved_accounts"
READ = "timebank_data_versions_read"  # Session.info: versions read in this transaction


@dataclass(frozen=True)
class Stamp:
    """A data version as read: its number, and (see ``DataVersion``) how many times it
    moved and in which epoch; both None for a version this transaction moved and has
    not yet committed."""

    version: int
    serial: int | None = 0
    epoch: int | None = 0


_NEVER = Stamp(0)  # a version nothing has moved yet


def stamp(name: str) -> Stamp:
    """The current version of ``name`` (0 before anything was ever written), read once
    per transaction, all versions in one statement (a page asks for several: the map's
    register, the kinds' names its fragments show). A transaction that changed the data
    sees its own new version."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        session.flush()  # the flush may bump: what this transaction built is its own
    own = session.info.get(BUMPS)
    if own and name in own:
        return Stamp(own[name], None, None)
    memo = session.info.get(READ)
    if memo is None:  # (a row a named version: a few, and one more a bank)
        memo = session.info[READ] = {
            row.name: Stamp(row.version, row.serial, row.epoch) for row in session.execute(
                select(DataVersion.name, DataVersion.version, DataVersion.serial,
                       DataVersion.epoch))}
    return memo.get(name, _NEVER)


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
    table = cast(Table, DataVersion.__table__)
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
        if moved.get(name) and _stamp_moved is not None:
            _stamp_moved(session, moved[name], serial)  # (the ledger alone writes accounts)


def give_and_take(bank_id: int) -> str:
    """The name of the version that moves whenever the ledger moves a bank's totals."""
    return f"{GIVE_AND_TAKE}:{bank_id}"


def _changed(session: Session, obj: Any) -> bool:
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


@event.listens_for(Session, "after_transaction_end")
def _forget_reads(session: Session, transaction) -> None:
    """The next transaction reads the versions afresh (others may have moved them)."""
    if transaction.parent is None:
        session.info.pop(READ, None)


def _touches(session: Session, obj: Any) -> bool:
    if type(obj) not in WATCHED:
        return False
    if obj in session.dirty:
        return _changed(session, obj)
    # A new account with nothing given or received changes no totals.
    return not (type(obj) is _moving and obj in session.new and not (obj.given or obj.received))


@event.listens_for(Session, "after_flush")
def _bump_touched(session: Session, _context) -> None:
    touched: list[Any] = [obj for obj in chain(session.new, session.deleted, session.dirty)
               if _touches(session, obj)]
    for name in sorted({WATCHED[type(obj)] for obj in touched if type(obj) is not _moving}):
        bump(name, session)
    for account in touched:
        if type(account) is _moving:  # (an account gone leaves no row to stamp)
            moved(account.bank_id, None if account in session.deleted else (account.id,),
                  session)


class Store:
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


_store = Store(BUDGET_BYTES)
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

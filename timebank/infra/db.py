"""Database engine set-up and the write-transaction helper.

SQLite is the embedded default: WAL so readers never block the writer, a busy
timeout so writers queue instead of failing, and ``BEGIN IMMEDIATE`` for ledger
writes so two workers cannot both read a balance and then both write it
(SQLAlchemy's documented pysqlite recipe). PostgreSQL is the production engine;
there ledger writes lock rows with ``SELECT … FOR UPDATE`` in id order.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

from flask import Flask, current_app
from sqlalchemy import Select, event, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import ColumnClause, UnaryExpression

from timebank.infra import cache
from timebank.infra.extensions import REPLICA, db

log = logging.getLogger("timebank.db")

# Whether the transaction beginning now may write (the web layer says: a request whose
# method is not GET, HEAD or OPTIONS); a read that turns into a write on SQLite fails.
_expects_writes: Callable[[], bool] = lambda: False  # noqa: E731
MAX_ID = 2**31 - 1  # PostgreSQL INTEGER; SQLite would overflow at 2**63


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the deployer gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine | None = None) -> bool:
    engine = engine or db.engine
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver hook
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 32 MB of page cache per connection (the default is 2 MB): reports and lists
        # read the same index pages again and again.
        cursor.execute("PRAGMA cache_size=-32000")
        # SQLite's own lower() knows only ASCII: "Élodie" would never match "élodie" in
        # name searches (ilike compiles to lower() on SQLite). Python's knows every letter.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - driver hook
        # A request that may write takes the write lock when its transaction begins:
        # upgrading a read transaction to a write one fails at once (SQLITE_BUSY) if
        # another process wrote in between, whereas BEGIN IMMEDIATE waits its turn.
        immediate = (conn.get_execution_options().get("sqlite_immediate", False)
                     or _expects_writes())
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def expect_writes_when(rule: Callable[[], bool]) -> None:
    """Say when a transaction should take SQLite's write lock as it begins."""
    global _expects_writes
    _expects_writes = rule


MEMO = "timebank_memo"  # Session.info: what this transaction read once (``memo``)


def memo() -> dict:
    """A dict for values read once per transaction (kinds' names, data versions): gone
    when the transaction ends, so the next one reads what others have written since."""
    return db.session.info.setdefault(MEMO, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_memo(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(MEMO, None)


# -- the read replica ----------------------------------------------------------------------

REPLICA_RETRY_SECONDS = 30  # after the replica failed, the primary serves for this long
LAG_MEMO_SECONDS = 1.0  # a worker reads the replica's lag at most this often
_replica_down_until = 0.0
_lag_read: dict[str, tuple[float, float]] = {}  # replica URL: (when read, seconds behind)
_replica_guard = threading.Lock()
# -1 when the standby is not streaming from the primary (its WAL receiver stopped or
# cut off): then "received = replayed" would read as caught up however far behind it is.
LAG_SQL = text(
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver "
    "WHERE status = 'streaming') THEN -1 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END")


def replica_engine() -> Engine | None:
    return db.engines.get(REPLICA) if current_app.config.get(
        "TIMEBANK_DATABASE_REPLICA_URL") else None


def _lag_on(conn, url: str) -> float:
    read_at, lag = _lag_read.get(url, (0.0, 0.0))
    if time.monotonic() - read_at >= LAG_MEMO_SECONDS:
        found = conn.execute(LAG_SQL).scalar()
        lag = float(found) if found is not None else 0.0
        _lag_read[url] = (time.monotonic(), lag)
    return lag


def replica_lag() -> float | None:
    """Seconds the replica is behind the primary (0: caught up; -1: unreachable; None:
    no replica)."""
    engine = replica_engine()
    if engine is None:
        return None
    try:
        with engine.connect() as conn:
            found = conn.execute(LAG_SQL).scalar()
    except DBAPIError:
        return -1.0
    return float(found) if found is not None else 0.0


def replica_failed(why: str) -> None:
    """A request found the replica failing: leave it alone for a while."""
    _replica_failed(why)


def _replica_failed(why: str) -> None:
    global _replica_down_until
    with _replica_guard:
        _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
    log.warning("the read replica is not used for %s s: %s", REPLICA_RETRY_SECONDS, why)


def read_replica() -> bool:
    """Send this request's reads to the read replica, if there is one that answers and is
    no further behind than TIMEBANK_REPLICA_MAX_LAG_SECONDS; else they stay on the
    primary (and a replica that failed is left alone for a while). The replica's
    connection is taken now, for the request: a replica that is down is found here, not
    half-way through a page. Only for requests a person need not see their own latest
    writes in: the caller decides which."""
    engine = replica_engine()
    if engine is None or time.monotonic() < _replica_down_until:
        return False
    session = db.session()
    try:
        conn = session.connection(bind_arguments={"bind": engine})
        lag = _lag_on(conn, str(engine.url))
    except DBAPIError as error:
        session.rollback()
        _replica_failed(str(error.orig or error).splitlines()[0][:200])
        return False
    if lag < 0:
        session.rollback()
        _replica_failed("it is not streaming from the primary")
        return False
    if lag > current_app.config["TIMEBANK_REPLICA_MAX_LAG_SECONDS"]:
        log.info("the read replica is %.1f s behind: reading from the primary", lag)
        return False
    session.info[REPLICA] = True
    return True


def init_engine(app: Flask) -> None:
    @app.teardown_appcontext
    def _end_session(error) -> None:
        # Before Flask-SQLAlchemy's own (teardowns run last-registered first): a database
        # that went away after the answer was made (a restart terminating idle
        # connections) must not turn that answer into a 500 as the session closes.
        try:
            try:
                if error is None:
                    end_reads(db.session())
            finally:
                db.session.remove()
        except SQLAlchemyError as failed:
            log.warning("closing a session on a lost connection: %s",
                        str(getattr(failed, "orig", None) or failed).splitlines()[0][:200])

    with app.app_context():
        engines = [db.engine, *([db.engines[REPLICA]] if REPLICA in db.engines else [])]
        for engine in engines:
            _note_writes(engine)
        if is_sqlite(db.engine):
            _configure_sqlite(db.engine, app.config["TIMEBANK_SQLITE_BUSY_TIMEOUT_MS"])


# Ending a transaction that only read: COMMIT, not the ROLLBACK a closing session sends.
# psycopg forgets every prepared statement on a rollback (a rollback may undo what they
# were prepared against), and every request ended with one, so on PostgreSQL no statement
# was ever prepared: each was planned afresh on every view (a data download's one
# statement of two dozen lists: 2.7 ms planning it, 1.2 ms running it prepared). A
# transaction that wrote, or may have, still ends with a rollback unless committed.
_WROTE = "timebank.wrote"
# What infra/cache.py writes as a transaction commits (data versions bumped, accounts
# moved): always after a write today, but a commit that would write is no read's end.
_WRITTEN_AT_COMMIT = (cache.BUMPS, cache.MOVED)
_JOINED = "timebank.connections"


def _note_writes(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _noted(conn, _cursor, statement, *_args) -> None:
        # (WITH … INSERT counts as a write; SQLite's own BEGIN, infra/db.py above, not.)
        if not statement.lstrip()[:6].upper().startswith(("SELECT", "BEGIN")):
            conn.info[_WROTE] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn) -> None:
        conn.info.pop(_WROTE, None)


@event.listens_for(Session, "after_begin")
def _joined(session: Session, _transaction, connection) -> None:
    session.info.setdefault(_JOINED, []).append(connection)


@event.listens_for(Session, "after_transaction_end")
def _left(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_JOINED, None)


def plan_each_run(connection) -> None:
    """PostgreSQL: every prepared statement planned for its values (migration 0030 says
    why), set on the database; a restore sets it again (a dump does not hold it). A role
    that may not alter the database leaves it to the operator, with a notice."""
    connection.execute(text(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = "
        "force_custom_plan', current_database()); EXCEPTION WHEN insufficient_privilege "
        "THEN RAISE NOTICE 'plan_cache_mode left as it is'; END $$"))


def end_reads(session: Session) -> None:
    """End ``session``'s transaction with a COMMIT if it only read (nothing unsaved,
    no statement but SELECTs on any of its connections), so the prepared statements
    stay; otherwise leave it to be rolled back as the session closes."""
    joined = session.info.get(_JOINED)
    if (not session.in_transaction() or not joined or session.new or session.dirty
            or session.deleted or any(session.info.get(key) for key in _WRITTEN_AT_COMMIT)
            or any(conn.closed or conn.invalidated or conn.info.get(_WROTE)
                   for conn in joined)):
        return
    # Nothing it read is expired: it only read, and a streamed answer may still use what
    # it loaded (the member) after the request's own end, as closing the session allows.
    try:
        commit_keeping_loaded(session)
    except DBAPIError:
        session.rollback()
        raise


def commit_keeping_loaded(session: Session) -> None:
    """Commit without expiring what ``session`` loaded: what follows uses it as read,
    without reading it again (one statement each, and a round trip on PostgreSQL)."""
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run the block in one write transaction that commits or rolls back whole.

    Any read transaction the request already holds is ended first, so the
    write starts from fresh data; on SQLite the new transaction takes the
    write lock at once (``BEGIN IMMEDIATE``).
    """
    session = db.session()  # the real Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def end_read_transaction() -> None:
    """Release the session's transaction (and on SQLite its lock) before a slow call.

    Refuses if the session holds unsaved changes: do slow calls first, then write.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("end_read_transaction() with unsaved changes; call it earlier")
        session.commit()


def locked(model, object_id: int):
    """The row ``object_id`` of ``model``, locked for this write transaction and read
    afresh (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE holds the database), so a
    decision made on it cannot race another writer's. None if there is no such row."""

    return db.session.scalar(select(model).where(model.id == object_id)
                             .with_for_update(of=model)
                             .execution_options(populate_existing=True))


def keyset_page(rows, size: int, last_id=lambda row: row.id):
    """Keyset paging's end of a page: ``rows`` were fetched with ``limit(size + 1)``; the
    page is the first ``size``, and the next page continues after the last of them
    (``last_id(row)``), or None when the extra row did not come (the last page)."""
    rows = list(rows)
    page = rows[:size]
    return page, last_id(page[-1]) if len(rows) > size and page else None


def like_pattern(text: str, *, prefix_only: bool = False) -> str:
    """A LIKE pattern matching ``text`` literally (use with ``escape="\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def answers() -> bool:
    """Does the database answer (``/healthz``)? Any failure means no; the session is left
    without a transaction either way."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        with contextlib.suppress(Exception):  # the connection may already be gone
            db.session.rollback()
        return False
    return True


def days_between(later, earlier):
    """Days from one timestamp to another, in either engine's SQL (SQLite keeps them as
    text, where subtracting would not give days)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400
    return func.julianday(later) - func.julianday(earlier)


class Lists:
    """Named queries (``bindparam`` for what changes between reads) whose rows are read
    together as dicts, as ``session.execute`` gives them. On PostgreSQL all in one
    statement, each query a ``json_agg`` of its rows in its own order: a member's data
    download read two dozen short lists one round trip each, and spent most of its time
    waiting for them (31 statements, 10-14 times /healthz under gunicorn). SQLite runs in
    the process, where a statement costs no round trip: each is run in turn.

    Made once and kept (a module's constant): the folded statement is built once per
    engine and choice of lists, not on every read (two dozen queries took longer to
    build than to run). For short lists only: each is built whole in the server's
    memory. A query with a column whose type the driver's JSON cannot stand for (one
    SQLAlchemy converts as it reads) is run on its own."""

    def __init__(self, queries: dict[str, Select]):
        self.queries = queries
        self._plans: dict[tuple, tuple] = {}

    def read(self, session: Session, params: dict,
             leave_out: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
        names = tuple(name for name in self.queries if name not in leave_out)
        if not names:
            return {}
        dialect = session.get_bind(clause=self.queries[names[0]]).dialect
        plan = self._plans.get((dialect.name, names))
        if plan is None:
            plan = self._plans[(dialect.name, names)] = self._plan(names, dialect)
        folded, statement, alone = plan
        found = {name: [row._asdict() for row in session.execute(self.queries[name], params)]
                 for name in alone}
        if statement is not None:
            values = session.execute(statement, params).one()
            for (name, readers, numbered), rows in zip(folded, values, strict=True):
                rows = rows or []  # (json_agg of no rows is NULL)
                for row in rows:
                    if numbered:
                        del row[_PLACE]
                    for key, read in readers.items():
                        if row[key] is not None:
                            row[key] = read(row[key])
                found[name] = rows
        return {name: found[name] for name in names}

    def _plan(self, names: tuple[str, ...], dialect) -> tuple:
        folded, alone = [], []
        for name in names:
            readers = (_json_readers(self.queries[name], dialect)
                       if dialect.name == "postgresql" and _foldable(self.queries[name])
                       else None)
            if readers is None:
                alone.append(name)
            else:  # (an ordered list's rows carry their place: ``_aggregated``)
                folded.append((name, readers, bool(self.queries[name]._order_by_clauses)))
        statement = select(*[
            _aggregated(self.queries[name], f"s{n}", numbered).scalar_subquery()
            .label(f"s{n}") for n, (name, _readers, numbered) in enumerate(folded)]
        ) if folded else None
        return folded, statement, alone


_PLACE = "_place"  # (each row's place in its list's order; read, then dropped)


def _foldable(query: Select) -> bool:
    """Whether numbering the query's rows keeps them as they are: not with DISTINCT (the
    numbers would make every row distinct), a column of the number's name, or an order
    by anything but columns (a label's name means nothing inside the window)."""
    if query._distinct or query._distinct_on or any(
            column.key == _PLACE for column in query.selected_columns):
        return False
    for clause in query._order_by_clauses:
        while isinstance(clause, UnaryExpression):  # (desc(), nulls_last())
            clause = clause.element
        if not isinstance(clause, ColumnClause):
            return False
    return True


def _aggregated(query: Select, name: str, numbered: bool) -> Select:
    """``json_agg`` of the query's rows in its own order. PostgreSQL only promises to
    aggregate a sorted subquery's rows in order "usually": where the query has an order
    (``numbered``), each row carries its place in it, and the aggregate is ordered by it."""
    if not numbered:
        return select(func.json_agg(query.subquery(name).table_valued()))
    rows = query.add_columns(
        func.row_number().over(order_by=query._order_by_clauses).label(_PLACE))
    found = rows.subquery(name)
    return select(func.json_agg(aggregate_order_by(found.table_valued(), found.c[_PLACE])))


_FROM_JSON = {sqltypes.DateTime: datetime.fromisoformat, sqltypes.Date: date.fromisoformat}
_AS_JSON = (sqltypes.Integer, sqltypes.String, sqltypes.Boolean, sqltypes.JSON,
            sqltypes.Float)


def _json_readers(query: Select, dialect) -> dict[str, Callable] | None:
    """How to turn each column's JSON back into what SQLAlchemy would have given (dates
    and times from their ISO text), or None when a column's type is beyond JSON."""
    readers = {}
    for column in query.selected_columns:
        kind = column.type
        for base, read in _FROM_JSON.items():
            if isinstance(kind, base) and not getattr(kind, "timezone", False):
                readers[column.key] = read
                break
        else:
            if not isinstance(kind, _AS_JSON) or kind.result_processor(dialect, None):
                return None
    if len({column.key for column in query.selected_columns}) != len(
            query.selected_columns):
        return None  # (two columns of one name: one JSON key)
    return readers

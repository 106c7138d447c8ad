"""Database engine set-up and the write-transaction helper.

SQLite is the embedded default: WAL so readers never block the writer, a busy
timeout so writers queue instead of failing, and ``BEGIN IMMEDIATE`` for ledger
writes so two workers cannot both read a balance and then both write it
(SQLAlchemy's documented pysqlite recipe). PostgreSQL is the production engine;
there ledger writes lock rows with ``SELECT … FOR UPDATE`` in id order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from timebank.infra.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
        immediate = conn.get_execution_options().get("sqlite_immediate", False) or (
            has_request_context() and request.method not in SAFE_METHODS
        )
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_engine(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if is_sqlite(engine):
            _configure_sqlite(engine, app.config["TIMEBANK_SQLITE_BUSY_TIMEOUT_MS"])


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
    from sqlalchemy import select

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

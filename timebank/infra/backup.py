"""Backups: a whole-database copy to a file, and back into an empty database.

SQLite uses its online backup API (a consistent copy while the site runs);
PostgreSQL uses pg_dump's custom format and pg_restore. A restore goes only into
an empty database, so it can never mix two histories.

A backup is written beside its final name and renamed into place only when whole: a
disk that fills half-way leaves the partial file removed, a clear error, and every
earlier backup where it was (``rotate`` prunes old ones only after a new one is made).
"""

from __future__ import annotations

import errno
import glob
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from timebank.infra.db import plan_each_run


class BackupError(Exception):
    """A backup or restore could not be made; ``message`` says why, for the admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run_pg(tool: str, *args: str, password: str | None = None) -> None:
    # An argument list, no shell: the file name and URL come from the admin running us.
    # The password goes in the environment, never on a command line others can read.
    env = {**os.environ, "PGPASSWORD": password} if password else None
    done = subprocess.run([_pg_tool(tool), *args], capture_output=True, text=True,  # noqa: S603
                          check=False, env=env)
    if done.returncode == -signal.SIGXFSZ:  # over the file size limit: no room, as ENOSPC
        raise BackupError(f"{tool} failed: File too large")
    if done.returncode:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[:500] or done.returncode}")


def _libpq_url(engine: Engine) -> str:
    """The database's address for pg_dump and pg_restore, without its password."""
    return make_url(engine.url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _password(engine: Engine) -> str | None:
    return make_url(engine.url).password


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return path


def backup(engine: Engine, target: str) -> None:
    """Copy the whole database into ``target`` (written whole, or not at all)."""
    if Path(target).exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    partial = f"{target}.partial"
    Path(partial).unlink(missing_ok=True)  # a run killed earlier left it
    try:
        # Readable by the owner only: it holds every member's details.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _copy(engine, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    except (OSError, sqlite3.Error, BackupError) as error:
        Path(partial).unlink(missing_ok=True)
        raise BackupError(_why(error, target)) from error


def _copy(engine: Engine, target: str) -> None:
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(_sqlite_path(engine))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    _run_pg("pg_dump", "--format=custom", "--no-owner", "--file", target, _libpq_url(engine),
            password=_password(engine))


_FULL = ("No space left", "File too large", "database or disk is full", "disk I/O error")


def _why(error: Exception, target: str) -> str:
    """The error in words an admin acts on: a full disk says so."""
    said = getattr(error, "message", None) or str(error)
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or any(
            words in said for words in _FULL):
        return (f"no room to write {target}: the disk is full (or the file too large). "
                f"Nothing was written; earlier backups are untouched. ({said[:300]})")
    return said


def rotate(engine: Engine, folder: str, now: datetime, keep: int) -> str:
    """A new backup in ``folder`` named by the time, then all but the newest ``keep``
    removed (only once the new one is whole). Returns the new file's path."""
    Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    suffix = "sqlite" if engine.dialect.name == "sqlite" else "dump"
    target = str(Path(folder) / f"timebank-{now:%Y%m%dT%H%M%S}.{suffix}")
    backup(engine, target)
    # Only the files this names, oldest first by the time in their name: a backup an
    # admin made by hand beside them is never pruned.
    named = re.compile(rf"^timebank-(\d{{8}}T\d{{6}})\.{suffix}$")
    made = sorted((found.group(1), path) for path in Path(folder).iterdir()
                  if (found := named.match(path.name)))
    for _when, old in made[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target


def restore(engine: Engine, source: str) -> None:
    """Load a backup made by ``backup`` into this (empty) database."""
    if not Path(source).is_file():
        raise BackupError(f"{source} is not a file")
    if inspect(engine).get_table_names():
        raise BackupError("the database is not empty: restore only into a new, empty one")
    engine.dispose()  # nothing of ours holds the file or the database while we write
    if engine.dialect.name == "sqlite":
        backup_file = sqlite3.connect(source)
        target = sqlite3.connect(_sqlite_path(engine))
        try:
            backup_file.backup(target)
        finally:
            target.close()
            backup_file.close()
    else:
        _run_pg("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                _libpq_url(engine), source, password=_password(engine))
        with engine.begin() as connection:  # (a dump holds no database-wide settings)
            plan_each_run(connection)
    _new_epoch(engine)


def _new_epoch(engine: Engine) -> None:
    """What a running worker built from this database's data before (the same address,
    an older history) is never brought up to date from the restored one: it is built
    again in full (``timebank.infra.cache``)."""
    engine.dispose()
    if "epoch" in {c["name"] for c in inspect(engine).get_columns("data_version")}:
        with engine.begin() as connection:
            connection.execute(text("UPDATE data_version SET epoch = :epoch"),
                               {"epoch": secrets.randbelow(2**52) + 1})

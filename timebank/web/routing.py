"""Ids in URLs and query strings: whole numbers small enough for any database column;
and which requests may read from the read replica."""

from __future__ import annotations

import functools
import time

from flask import Flask, current_app, request, session
from werkzeug.routing import IntegerConverter

from timebank.infra.db import MAX_ID, read_replica

WROTE = "wrote_at"  # the session's note of when this person last changed something


def replica_reads(view):
    """The view only reads, and what it shows may be a few seconds old (reports, data
    downloads, open data, map data): its reads go to the read replica, if there is one
    that keeps up. Not for someone who changed something within the replica's allowed
    lag: they see their own writes, from the primary."""

    @functools.wraps(view)
    def reading(*args, **kwargs):
        use_replica()
        return view(*args, **kwargs)

    return reading


def use_replica() -> None:
    """Read from the replica unless this person just changed something."""
    if not current_app.config.get("TIMEBANK_DATABASE_REPLICA_URL"):
        return  # (and the session is not read: no "Vary: Cookie" for nothing)
    if not wrote_within(current_app.config["TIMEBANK_REPLICA_MAX_LAG_SECONDS"]):
        read_replica()


def open_data_reads() -> None:
    """The open data is the same for everyone and read by machines: from the replica,
    with no look at the session (its answers stay cacheable by anyone)."""
    if current_app.config.get("TIMEBANK_DATABASE_REPLICA_URL"):
        read_replica()


def wrote_within(seconds: float) -> bool:
    """Whether this person changed something in the last ``seconds`` (then they read
    fresh, never kept or lagging, data). Two seconds' margin: the mark is in whole
    seconds, and a replica's lag is read at most once a second."""
    return time.time() - session.get(WROTE, 0) < seconds + 2


def init_app(app: Flask) -> None:
    @app.after_request
    def _note_writes(response):
        # (Logging in or out changes nothing anyone reads; a changed address does.)
        if (request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400
                and request.endpoint not in ("auth.login", "auth.logout")):
            session[WROTE] = int(time.time())
        return response


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a larger number simply matches no route (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def arg_id(name: str) -> int | None:
    """An id from the query string, or None when absent, not a number or out of range."""
    value = request.args.get(name, type=int)
    if value is None or not 0 <= value <= MAX_ID:
        return None
    return value

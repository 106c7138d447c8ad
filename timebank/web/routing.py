"""Ids in URLs and query strings: whole numbers small enough for any database column."""

from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

from timebank.infra.db import MAX_ID


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

"""Caching for pages, in one room: markup drawn once per what it shows, and cached
bodies sent with HTTP validators. The data versions they rest on are ``infra.cache``'s.

A template marks a block ``{% call remember(value, …) %}`` with the values it draws
from (the rows and forms the route built); the key is derived here, from those values,
the block's own place in its template, and what every page also depends on (the
database, the language, the site's root and the bank). A template never builds a key:
what the markup shows is what it is keyed by, so a key cannot forget a field.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable
from enum import Enum
from typing import Any

from flask import Response, current_app, g, request
from flask_babel import get_locale
from flask_wtf import FlaskForm

from timebank.infra import cache
from timebank.infra.cache import Body, Store
from timebank.infra.extensions import db
from timebank.web.i18n import date_locale
from timebank.web.tenancy import bank_count, current_bank

FRAGMENT_BUDGET_BYTES = 8 * 1024 * 1024  # per worker
# Drawn markup has a store of its own, so it can never push out what is costly to build.
_fragments = Store(FRAGMENT_BUDGET_BYTES)

_PLAIN = (str, int, float, bool, type(None), datetime.date, datetime.datetime, Enum, frozenset)
_EXACT = frozenset({str, int, float, bool, type(None), datetime.date, datetime.datetime})


class Unkeyable(Exception):
    """A value no key can be derived from (something typed in, a form with errors)."""


@functools.cache
def _fields_of(kind: type) -> tuple[str, ...] | None:
    """A dataclass's field names (asked once per class: a page keys hundreds of rows)."""
    if dataclasses.is_dataclass(kind):
        return tuple(f.name for f in dataclasses.fields(kind))
    return None


def key_of(value):
    """A hashable key naming everything ``value`` holds: plain values as they are, tuples,
    lists, dicts, rows and dataclasses field by field, a form by its answers as read and
    the choices it offers. Anything else cannot be keyed (an ORM object may change under
    the same identity): the block is then drawn afresh."""
    kind = type(value)
    if kind in _EXACT:
        return value
    if kind is tuple or kind is list:
        return tuple(map(key_of, value))
    if isinstance(value, _PLAIN):
        return value
    names = _fields_of(kind)
    if names is not None:
        return (kind.__qualname__, *(key_of(getattr(value, name)) for name in names))
    if isinstance(value, tuple | list):  # (a named tuple)
        return tuple(map(key_of, value))
    if isinstance(value, dict):
        return tuple((key, key_of(item)) for key, item in value.items())
    if isinstance(value, FlaskForm):
        return _form_key(value)
    if hasattr(value, "_tuple"):  # a SQLAlchemy Row
        return key_of(value._tuple())
    raise Unkeyable(kind.__qualname__)


def _typed(field) -> bool:
    """Whether ``field`` is drawn with what was sent as it was sent (words, a number, a
    tick box's value other than its own "y")."""
    if not field.raw_data or field.raw_data == [""]:
        return False
    if field.type == "BooleanField":
        return field.raw_data != ["y"]
    return not hasattr(field, "choices")


def _form_key(form) -> tuple:
    """A form's fields as drawn: the answers as read and the choices offered. Errors, or
    words or a number typed in, are not keyed: whatever anyone types must not fill the
    cache (choices and ticks are few)."""
    if form.errors or any(_typed(field) for field in form):
        raise Unkeyable("a form with typed answers or errors")
    # What a choice or a tick shows is its value as read, never as typed: "5", "05" and
    # "+5" draw the same field, and must not make three keys.
    return (type(form).__qualname__,
            *((field.name, str(field.data),
               tuple(tuple(map(str, c)) for c in getattr(field, "choices", None) or ()))
              for field in form))


def remember(*values, caller: Callable[[], str]) -> str:
    """The markup ``caller`` draws from ``values``, drawn once per worker and key. Only
    for markup that is the same for everyone who may see the page: no CSRF token inside."""
    code = caller._func.__code__  # the block's place: its template and line
    try:
        key = (code.co_filename, code.co_firstlineno, code, key_of(values), *_page_context())
    except Unkeyable:
        return caller()
    found = _fragments.get(key)
    if found is None:
        found = caller()
        _fragments.put(key, found, 2 * len(found) + 256)
    return found


_once = Store(256 * 1024)  # per worker: a few menus


def once(key: tuple, build: Callable[[], Any]) -> Any:
    """``build()``'s value for ``key`` and the page's context (language, bank, root: see
    ``_page_context``), once per worker: for what a page draws from who the person is,
    not from the data (the menu of an audience)."""
    bank = current_bank()
    full = (key, id(current_app._get_current_object()), str(get_locale()), request.script_root,
            bank.slug if bank is not None else None, bank_count() > 1)
    found = _once.get(full)
    if found is None:
        found = build()
        _once.put(full, found, 1024)
    return found


def _page_context() -> tuple:
    """What every fragment of this request also depends on: the database, the page's
    language and the bank's way with dates, the names of kinds (of help, of asset) as
    admins set them, and what its addresses depend on (the site's root; the bank's slug,
    which they carry only while there are several banks). Worked out once per request:
    a list draws a fragment per row."""
    found = g.get("_fragment_context")
    # Worked out again if the language (an e-mail in its reader's), the bank or the root
    # changed since.
    if found is None or found[0] != (get_locale(), g.get("bank"), request.script_root):
        bank = current_bank()
        found = g._fragment_context = (
            (get_locale(), g.get("bank"), request.script_root), str(db.engine.url),
            str(get_locale()), date_locale(), cache.version(cache.KINDS), request.script_root,
            bank.slug if bank is not None else None, bank_count() > 1)
    return found[1:]


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

"""Error pages in the site's layout, JSON for machine URLs (refusals: core.errors)."""

from __future__ import annotations

import contextlib
import time

from flask import Flask, jsonify, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from werkzeug.exceptions import HTTPException, InternalServerError

from timebank.core.errors import Refused  # noqa: F401  (routes catch it from here too)
from timebank.infra.db import replica_failed
from timebank.infra.extensions import REPLICA, db
from timebank.web.extensions import limiter

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Please log in"), _l("You need to log in to see that page.")),
    403: (_l("Not allowed"), _l("Your role does not allow you to see this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    409: (_l("Conflict"), _l("That change conflicts with another one.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    415: (_l("Not a form"), _l("This address takes what a web form sends.")),
    422: (_l("Please check the form"), _l("Some of what you entered needs another look.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong"),
          _l("Sorry, something went wrong on our side. Please try again.")),
}


def _wants_json() -> bool:
    path = request.path
    return (path in ("/healthz", "/readyz") or path.endswith((".json", ".geojson"))
            or path.startswith("/api/"))


# What a person can do next, by status (the page's and the HTMX message's second line).
NEXT_STEPS = {
    400: _l("Go back: what you typed is usually still there. Reload the page and send it "
            "again."),
    403: _l("If you think you should be allowed, ask a coordinator."),
    404: _l("Check the address, or start again from the home page."),
    409: _l("Someone changed this at the same moment. Reload the page to see it as it is "
            "now, then try again."),
    413: _l("Send a smaller file, or split it in parts."),
    429: _l("Please wait a minute before trying again."),
    500: _l("What you typed is still in the form. Please try again in a moment; if it "
            "keeps happening, tell a coordinator."),
}


def _respond(code: int, detail: str | None = None, kind: str = "",
             next_step: str | None = None):
    title, message = MESSAGES.get(code, (_l("Error %(code)s", code=code),
                                         _l("Something went wrong.")))
    title, message = str(title), str(message)
    if _wants_json():
        return jsonify({"error": title, "message": detail or message}), code
    step = (str(NEXT_STEPS.get(code, NEXT_STEPS[500] if code >= 500 else ""))
            if next_step is None else next_step)
    # A request from htmx gets the message alone (errors.js shows it beside what was
    # pressed, and the typed text stays); everyone else the page in the site's layout.
    hx = getattr(request, "htmx", None)
    template = "errors/_message.html" if hx and not hx.boosted else "errors/error.html"
    try:
        page = render_template(template, code=code, title=title, message=detail or message,
                               next_step=step)
    except (DBAPIError, PendingRollbackError):  # the layout reads the database, and it
        # is away (or the session lost its connection earlier): the words alone
        with contextlib.suppress(Exception):
            db.session.rollback()
        page = f"{title}\n\n{detail or message}\n{step}\n"
        response = make_response(page, code, {"Content-Type": "text/plain; charset=utf-8"})
    else:
        response = make_response(page, code)
    # errors.js knows our own error answers (a proxy's 502 page is not one) by this header.
    response.headers["X-Timebank-Error"] = kind or str(code)
    return response


def login_needed():
    """The answer to an htmx request from someone whose session has ended."""

    response = _respond(401, str(_l("You are not logged in any more: the session ended.")),
                        kind="login", next_step=str(_l(
        "Log in again in another tab: what you typed stays here. Then press the button "
        "again.")))
    response.headers["X-Timebank-Login"] = url_for("auth.login")
    return response


def _retry_minutes() -> int:
    """Whole minutes until the limit that refused this request lets the next one through."""

    current = limiter.current_limit
    if current is None:
        return 1
    # Rounded, not raised: the limiter's reset falls a second or so past the window.
    return max(1, round((current.reset_at - time.time()) / 60))


_LOST = ("connection", "server closed", "could not connect", "shutting down",
         "starting up", "not yet accepting", "terminating", "database is locked",
         "recovery", "no route to host", "timeout", "could not receive", "eof")


def _lost_connection(error: Exception) -> bool:
    """A database away (restart, network, a standby cancelling), not a fault of ours:
    the connection was lost, or never made (no statement had run), or says so."""
    if isinstance(error, PendingRollbackError) or getattr(error, "connection_invalidated",
                                                          False):
        return True
    if getattr(error, "statement", "") is None:  # failed while connecting
        return True
    said = str(getattr(error, "orig", None) or error).lower()
    return any(words in said for words in _LOST)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return _respond(
            400,
            str(_l("This form has expired or did not come from this site.")),
            kind="form-expired",
            next_step=str(_l("What you typed is still in the form. Press the button again; "
                             "if the site asks you to log in, log in and your text is kept.")),
        )

    @app.errorhandler(RateLimitExceeded)
    def _limited(error: RateLimitExceeded):
        # Never the limiter's own words ("20 per 1 hour"): when to try again, translated.
        minutes = _retry_minutes()
        return _respond(429, str(ngettext(
            "Too many attempts from here. Please try again in %(num)d minute.",
            "Too many attempts from here. Please try again in %(num)d minutes.", minutes)),
            next_step="")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        # Our own abort(code, "message") texts are shown; Werkzeug's stock ones are not.
        detail = None
        if error.description and error.description != type(error).description:
            detail = error.description
        return _respond(code, detail)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(error: Exception):
        # A number too big for the database (from a form field we did not bound) names
        # nothing that exists: a clear 400, never a 500.

        db.session.rollback()
        return _respond(400, str(_l("A number in the request is too large.")))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_away(error: Exception):
        # The database restarting, unreachable or (SQLite) locked past the busy timeout.
        # Say so, and when to try again; the pool checks connections before use, so the
        # next request finds it back by itself. Any other OperationalError (a missing
        # table, a deadlock) is a fault to fix: logged in full, a 500.
        on_replica = bool(db.session.info.get(REPLICA))
        with contextlib.suppress(Exception):  # (the connection itself may be gone)
            db.session.rollback()
        if not _lost_connection(error):
            app.logger.error("database error", exc_info=error)
            return _respond(500)
        first_line = str(error).splitlines()[0][:200]
        app.logger.warning("database unavailable: %s", first_line)
        if on_replica:  # the standby failed under this request: pass it over a while
            replica_failed(first_line)
        response = _respond(503, str(_l(
            "The site could not reach its database just now. If you were saving "
            "something, it may not have been saved: please check before you try again "
            "in a minute.")))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(InternalServerError)
    def _server(error: InternalServerError):
        # A session left unusable by a connection lost earlier in the request (SQLAlchemy
        # then refuses it with PendingRollbackError): the database went away, as above.
        cause = getattr(error, "original_exception", None)
        if isinstance(cause, PendingRollbackError) or (
                isinstance(cause, DBAPIError) and _lost_connection(cause)):
            return _database_away(cause)
        return _respond(500)

"""Error pages in the site's layout, JSON for machine URLs; the base of domain refusals."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError


class Refused(ValueError):
    """A domain rule said no. ``message`` is for the person; ``field`` names the form field
    it belongs beside (None: the top of the form); ``status`` is the HTTP status a page
    answers with when there is no form to show it on."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Please log in"), _l("You need to log in to see that page.")),
    403: (_l("Not allowed"), _l("Your role does not allow you to see this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    409: (_l("Conflict"), _l("That change conflicts with another one.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    422: (_l("Please check the form"), _l("Some of what you entered needs another look.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong"),
          _l("Sorry, something went wrong on our side. Please try again.")),
}


def _wants_json() -> bool:
    path = request.path
    return path in ("/healthz", "/readyz") or path.endswith((".json", ".geojson"))


def _respond(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, (f"Error {code}", _l("Something went wrong.")))
    title, message = str(title), str(message)
    if _wants_json():
        return jsonify({"error": title, "message": detail or message}), code
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return _respond(
            400,
            "This form has expired or did not come from this site. "
            "Please go back, reload the page and try again.",
        )

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
        from .extensions import db

        db.session.rollback()
        return _respond(400, "A number in the request is too large.")

    @app.errorhandler(InternalServerError)
    def _server(error: InternalServerError):
        return _respond(500)

"""Response headers that make the browser refuse what the site never needs."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, has_request_context, request
from flask_babel import gettext as _

from timebank.infra import db as database

# What the site's forms send. Anything else (a JSON body, say) reaches no form: it is
# refused at the door with a message, rather than half-read by a form class.
FORM_TYPES = frozenset({"", "application/x-www-form-urlencoded", "multipart/form-data"})


def tile_origin(tiles_url: str) -> str:
    """The scheme+host of the tile server, for img-src; '' when maps have no tiles."""
    if not tiles_url:
        return ""
    parts = urlsplit(tiles_url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in tiles_url:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def content_security_policy(tiles_url: str, nonce: str = "") -> str:
    img = " ".join(filter(None, ["'self'", "data:", tile_origin(tiles_url)]))
    # The nonce lets exactly the inline script we wrote into this response (folium's map
    # script) run; nothing injected can guess it. No 'unsafe-inline' anywhere.
    scripts = f"script-src 'self' 'nonce-{nonce}'" if nonce else "script-src 'self'"
    return "; ".join(
        [
            "default-src 'self'",
            scripts,
            "style-src 'self'",
            f"img-src {img}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def register(app: Flask) -> None:
    # A request that may write takes SQLite's write lock as its transaction begins.
    database.expect_writes_when(
        lambda: has_request_context() and request.method not in SAFE_METHODS)
    tiles = app.config["TIMEBANK_TILES_URL"]
    secure = app.config["SESSION_COOKIE_SECURE"]

    def csp_nonce() -> str:
        if "csp_nonce" not in g:
            g.csp_nonce = secrets.token_urlsafe(18)
        return g.csp_nonce

    app.jinja_env.globals["csp_nonce"] = csp_nonce

    def _forms_only() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        too_big = app.config.get("MAX_CONTENT_LENGTH")
        if too_big and (request.content_length or 0) > too_big:
            abort(413)  # too large, whatever it is
        if request.mimetype not in FORM_TYPES:
            abort(415, _("This address takes what a web form sends, not %(type)s.",
                         type=request.mimetype[:60]))
        # PostgreSQL refuses a NUL byte in text; SQLite would keep it. Neither gets one.
        values = [*request.form.listvalues(), *request.args.listvalues()]
        if any("\x00" in value for repeated in values for value in repeated):
            abort(400, _("What you sent contains a character that cannot be stored (a NUL "
                         "byte). Remove it and send it again."))

    # First of all: before the rate limiter's cost (which looks the address up) or
    # anything else reads the body (a NUL sent to PostgreSQL breaks the connection).
    app.before_request_funcs.setdefault(None, []).insert(0, _forms_only)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(tiles, g.get("csp_nonce", ""))
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=()")
        if secure:
            # Cookies only over HTTPS: so is everything else, for a year (issue 28).
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            # HTMX requests get fragments, others full pages: caches must keep both apart.
            response.vary.add("HX-Request")
            if request.endpoint != "static":
                response.headers.setdefault("Cache-Control", "no-store")
        return response

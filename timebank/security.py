"""Response headers that make the browser refuse what the site never needs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


def tile_origin(tiles_url: str) -> str:
    """The scheme+host of the tile server, for img-src; '' when maps have no tiles."""
    if not tiles_url:
        return ""
    parts = urlsplit(tiles_url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in tiles_url:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def content_security_policy(tiles_url: str) -> str:
    img = " ".join(filter(None, ["'self'", "data:", tile_origin(tiles_url)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
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


def register(app: Flask) -> None:
    csp = content_security_policy(app.config["TIMEBANK_TILES_URL"])

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=()")
        if response.mimetype == "text/html":
            # HTMX requests get fragments, others full pages: caches must keep both apart.
            response.vary.add("HX-Request")
            if request.endpoint != "static":
                response.headers.setdefault("Cache-Control", "no-store")
        return response

"""HTMX conventions, in one place.

- A plain request (or an ``hx-boost`` navigation, which swaps the whole body)
  gets the full page; a targeted HTMX request gets only the fragment.
- Every HTML response carries ``Vary: HX-Request`` (see security.py).
- The CSRF token reaches HTMX through ``hx-headers`` on ``<body>`` (base.html).
- A form with errors comes back re-rendered with status 422, for HTMX and
  full-page requests alike; base.html configures htmx to swap 422 responses.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request


def wants_fragment() -> bool:
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(template: str, partial: str | None = None, status: int = 200, **ctx: Any) -> Response:
    """Render ``partial`` for a targeted HTMX request, otherwise the full ``template``."""
    name = partial if partial and wants_fragment() else template
    response = make_response(render_template(name, **ctx), status)
    response.vary.add("HX-Request")
    return response


def render_form(
    template: str, form: Any, partial: str | None = None, **ctx: Any
) -> Response:
    """Render a form page: 422 when the form was submitted and has errors."""
    status = 422 if form.errors else 200
    return render(template, partial=partial, status=status, form=form, **ctx)

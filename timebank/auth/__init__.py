"""Logging in: loading the member behind a session, and what happens when there is none."""

from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db, login_manager
from ..models import Member, MemberStatus


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(member_id: str) -> Member | None:
        member = db.session.get(Member, int(member_id)) if member_id.isdigit() else None
        # A member suspended after logging in is logged out on their next request.
        if member is None or member.status != MemberStatus.ACTIVE:
            return None
        # A cookie from before a log-out (or suspension, or role change) no longer works.
        if session.get("sv") != member.session_version:
            return None
        return member

    @login_manager.unauthorized_handler
    def _unauthorized():
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if getattr(request, "htmx", None):
            response = app.response_class(status=401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

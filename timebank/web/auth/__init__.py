"""Logging in: loading the member behind a session, and what happens when there is none."""

from __future__ import annotations

import time

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from timebank.core.models import Member, MemberStatus
from timebank.web import tenancy
from timebank.web.errors import login_needed
from timebank.web.extensions import login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(member_id: str) -> Member | None:
        member = None
        if member_id.isdigit():
            member, banks = Member.for_a_page(int(member_id))
            if member is not None:
                tenancy.know_bank_count(banks)
        # A member suspended after logging in is logged out on their next request.
        if member is None or member.status != MemberStatus.ACTIVE:
            return None
        # A cookie from before a log-out (or suspension, or role change) no longer works.
        if session.get("sv") != member.session_version:
            return None
        if not _still_awake():
            session.pop("_user_id", None)
            flash(_("You were logged out after a while without using the site."), "info")
            return None
        return member

    def _still_awake() -> bool:
        """False once the session has gone unused for TIMEBANK_IDLE_MINUTES; else note now.

        The time is rewritten at most once a minute, so the cookie does not change on
        every request.
        """
        now = int(time.time())
        seen = session.get("seen")
        idle = app.config["TIMEBANK_IDLE_MINUTES"] * 60
        if idle and isinstance(seen, int) and now - seen > idle:
            return False
        if not isinstance(seen, int) or now - seen >= 60:
            session["seen"] = now
        return True

    @login_manager.unauthorized_handler
    def _unauthorized():
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if getattr(request, "htmx", None):
            # Not a redirect of the whole page: that would throw away what was typed.
            # errors.js shows the message, with a link to log in in another tab; a link
            # that was followed loads the log-in page itself.

            return login_needed()
        return redirect(target)


def start_session(member: Member) -> None:
    """Log ``member`` in: a fresh CSRF token, and the session version it must match."""
    session.pop("csrf_token", None)  # Flask-WTF makes a new one on the next form
    session["sv"] = member.session_version
    session["seen"] = int(time.time())
    login_user(member)

"""Logging in, and the role checks every route uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from ..models import Member, MemberStatus, Role


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(member_id: str) -> Member | None:
        member = db.session.get(Member, int(member_id)) if member_id.isdigit() else None
        # A member suspended after logging in is logged out on their next request.
        if member is None or member.status != MemberStatus.ACTIVE.value:
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


def roles_required(*roles: Role) -> Callable:
    """Allow only logged-in members with one of ``roles``; others get 403."""
    allowed = {r.value for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.COORDINATOR, Role.ADMIN)
trader_required = roles_required(Role.RESIDENT, Role.COORDINATOR, Role.ADMIN)
admin_required = roles_required(Role.ADMIN)
viewer_required = roles_required(Role.COUNCIL, Role.COORDINATOR, Role.ADMIN)

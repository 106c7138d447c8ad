"""Who may do what: the role checks every route names.

Object-level rules (a member sees only their own exchanges, matches,
statements…) live beside the objects, in each feature's domain module, and
are applied by the route before it renders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from .models import Role


def roles_required(*roles: Role) -> Callable:
    """Allow only logged-in members with one of ``roles``; others get 403."""
    allowed = frozenset(roles)

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

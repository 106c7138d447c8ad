"""Rate limits shared by the account pages (counted in TIMEBANK_RATELIMIT_STORAGE_URI,
so Redis makes them hold across gunicorn workers)."""

from __future__ import annotations

import contextlib
import ipaddress

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user

from timebank.web.extensions import limiter


def client_network() -> str:
    """The client's address; for IPv6 its /64, which one household or phone holds whole."""
    address = get_remote_address()
    if ":" in address:
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address


def _account_rate() -> str:
    return current_app.config["TIMEBANK_ACCOUNT_RATE"]


def _member_key() -> str:
    # Forms that check the current password: a session left open on a shared computer
    # must not become a way to guess it.
    return f"account:{current_user.get_id()}"


account_limit = limiter.shared_limit(_account_rate, scope="account-forms",
                                     key_func=_member_key, methods=["POST"])

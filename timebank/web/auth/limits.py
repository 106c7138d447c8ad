"""Rate limits shared by the account pages (counted in TIMEBANK_RATELIMIT_STORAGE_URI,
so Redis makes them hold across gunicorn workers).

When the count cannot be kept (Redis is down), the site fails open for everything but
the forms that guard accounts: pages and the open data go on being served (the limiter
swallows the error and logs it, RATELIMIT_SWALLOW_ERRORS), while logging in, joining
and asking for a password reset are refused until counting is back
(``closed_without_counting``): otherwise those limits would vanish exactly when an
attacker knocked Redis over."""

from __future__ import annotations

import contextlib
import functools
import ipaddress

from flask import abort, current_app, request
from flask_babel import gettext as _
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


def _counting() -> bool:
    try:
        return bool(limiter.storage.check())
    except Exception:  # any failure of the store means: not counting
        return False


def closed_without_counting(view):
    """The view's POST is refused (503, in words) while its rate limits cannot be
    counted, and the log says so."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if (request.method == "POST" and current_app.config.get("RATELIMIT_ENABLED")
                and not _counting()):
            current_app.logger.warning(
                "rate limits cannot be counted (%s unreachable): %s refused until they can",
                current_app.config.get("RATELIMIT_STORAGE_URI", "").split("@")[-1],
                request.path)
            abort(503, _("Logging in, joining and password resets are paused for a few "
                         "minutes while we fix a fault. Everything else works; please try "
                         "again shortly."))
        return view(*args, **kwargs)

    return guarded

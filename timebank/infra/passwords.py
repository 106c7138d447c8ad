"""Password hashes, made in one place: how (``TIMEBANK_PASSWORD_HASH``) is a setting.

Werkzeug's scrypt (2^15 rounds, 32 MB) costs about 130 ms of a core a hash or a check,
which is what makes a stolen table slow to guess from. The tests make and check a few
thousand hashes (every member they create, every log-in): at that cost they spent a
third of the suite's processor time on them, so they use a cheaper setting of the same
scrypt (``infra/config.py``). A check reads the method from the stored hash itself, so
changing the setting never locks anyone out; their hash is made anew on their next
password change.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

STRONG = "scrypt:32768:8:1"  # werkzeug's default, written out so tests can hold it


def make(password: str) -> str:
    method = (current_app.config.get("TIMEBANK_PASSWORD_HASH", STRONG) if has_app_context()
              else STRONG)
    return generate_password_hash(password, method=method)


def matches(stored: str, password: str) -> bool:
    return check_password_hash(stored, password)

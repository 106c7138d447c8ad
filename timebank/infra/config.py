"""Settings. Defaults live here; ``TIMEBANK_*`` environment variables override them.

Every setting a deployer may change is listed in README.md under "Settings".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in _TRUE


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def _env_bbox(name: str):
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    parts = [float(p) for p in value.split(",")]
    if len(parts) != 4:
        raise RuntimeError(f"{name} must be min_lon,min_lat,max_lon,max_lat")
    return tuple(parts)


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the config dict from defaults, the environment and ``overrides``."""
    overrides = overrides or {}
    debug = bool(overrides.get("DEBUG", _env_bool("TIMEBANK_DEBUG", False)))
    testing = bool(overrides.get("TESTING", False))
    default_db = "sqlite:///" + str(Path(instance_path) / "timebank.sqlite")
    cfg: dict[str, Any] = {
        "DEBUG": debug,
        "TESTING": testing,
        "SECRET_KEY": os.environ.get("TIMEBANK_SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("TIMEBANK_DATABASE_URL", default_db),
        # Cookies only over HTTPS unless turned off for plain-http local use.
        "SESSION_COOKIE_SECURE": _env_bool("TIMEBANK_COOKIE_SECURE", not (debug or testing)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("TIMEBANK_COOKIE_SECURE", not (debug or testing)),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 14,
        # Large enough for an asset import upload, small enough to refuse abuse.
        "MAX_CONTENT_LENGTH": _env_int("TIMEBANK_MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of a clock
        "RATELIMIT_ENABLED": _env_bool("TIMEBANK_RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("TIMEBANK_RATELIMIT_STORAGE_URI", "memory://"),
        # Redis down: pages and open data keep being served (the error is logged); the
        # account forms refuse instead (web/auth/limits.py: closed_without_counting).
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "TIMEBANK_LOGIN_RATE": os.environ.get("TIMEBANK_LOGIN_RATE", "10 per minute"),
        "TIMEBANK_REGISTER_RATE": os.environ.get("TIMEBANK_REGISTER_RATE", "10 per hour"),
        # Changes of password or address (and erasure requests) per member.
        "TIMEBANK_ACCOUNT_RATE": os.environ.get("TIMEBANK_ACCOUNT_RATE", "10 per 15 minutes"),
        # Forgot-password requests per client (each sends an e-mail).
        "TIMEBANK_RESET_RATE": os.environ.get("TIMEBANK_RESET_RATE", "5 per hour"),
        # How long e-mailed links work: a new password's, and an address confirmation's.
        "TIMEBANK_RESET_MAX_AGE": _env_int("TIMEBANK_RESET_MAX_AGE", 3600),
        "TIMEBANK_CONFIRM_MAX_AGE": _env_int("TIMEBANK_CONFIRM_MAX_AGE", 3 * 86400),
        # A session unused for this many minutes ends (a shared computer at the library).
        "TIMEBANK_IDLE_MINUTES": _env_int("TIMEBANK_IDLE_MINUTES", 60),
        "TIMEBANK_LOGIN_RATE_PER_EMAIL": os.environ.get(
            "TIMEBANK_LOGIN_RATE_PER_EMAIL", "20 per hour"
        ),
        "TIMEBANK_PROXY_HOPS": _env_int("TIMEBANK_PROXY_HOPS", 0),
        # Start the app's clock at this moment (ISO, UTC) and let it run on: for tests
        # and demos of a chosen day. Empty: the machine's clock (timebank/infra/clock.py).
        "TIMEBANK_CLOCK_START": os.environ.get("TIMEBANK_CLOCK_START", ""),
        "TIMEBANK_SQLITE_BUSY_TIMEOUT_MS": _env_int("TIMEBANK_SQLITE_BUSY_TIMEOUT_MS", 30000),
        "TIMEBANK_DEFAULT_FLOOR_MINUTES": _env_int("TIMEBANK_DEFAULT_FLOOR_MINUTES", -600),
        "TIMEBANK_GEOCODER_DOMAIN": os.environ.get(
            "TIMEBANK_GEOCODER_DOMAIN", "nominatim.openstreetmap.org"
        ),
        "TIMEBANK_GEOCODER_SCHEME": os.environ.get("TIMEBANK_GEOCODER_SCHEME", "https"),
        "TIMEBANK_GEOCODER_LOCK": os.environ.get(
            "TIMEBANK_GEOCODER_LOCK", str(Path(instance_path) / "geocoder.lock")
        ),
        "TIMEBANK_GEOCODER_MIN_INTERVAL": float(
            os.environ.get("TIMEBANK_GEOCODER_MIN_INTERVAL", "1.0")
        ),
        "TIMEBANK_GEOCODER_TIMEOUT": float(os.environ.get("TIMEBANK_GEOCODER_TIMEOUT", "5")),
        "TIMEBANK_BASE_URL": os.environ.get("TIMEBANK_BASE_URL", "http://127.0.0.1:5000"),
        "TIMEBANK_TILES_URL": os.environ.get(
            "TIMEBANK_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        ),
        "TIMEBANK_TILES_ATTRIBUTION": os.environ.get(
            "TIMEBANK_TILES_ATTRIBUTION",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
            "contributors",
        ),
        "TIMEBANK_MAIL_HOST": os.environ.get("TIMEBANK_MAIL_HOST", "localhost"),
        "TIMEBANK_MAIL_PORT": _env_int("TIMEBANK_MAIL_PORT", 25),
        "TIMEBANK_MAIL_USERNAME": os.environ.get("TIMEBANK_MAIL_USERNAME"),
        "TIMEBANK_MAIL_PASSWORD": os.environ.get("TIMEBANK_MAIL_PASSWORD"),
        "TIMEBANK_MAIL_STARTTLS": _env_bool("TIMEBANK_MAIL_STARTTLS", False),
        "TIMEBANK_MAIL_SENDER": os.environ.get("TIMEBANK_MAIL_SENDER", "timebank@localhost"),
        # Also print every e-mail the site queues to the terminal (development: `make run`
        # sets it, so a newcomer can follow a confirmation link with no mail server).
        "TIMEBANK_MAIL_ECHO": _env_bool("TIMEBANK_MAIL_ECHO", debug),
        # Texts (SMS) through a Twilio-compatible gateway: its API base URL, account,
        # auth token (which also signs the texts it posts to /sms/inbound) and the number
        # texts come from. Unset: texts are queued and wait.
        "TIMEBANK_SMS_API_URL": os.environ.get("TIMEBANK_SMS_API_URL", "https://api.twilio.com"),
        "TIMEBANK_SMS_ACCOUNT_SID": os.environ.get("TIMEBANK_SMS_ACCOUNT_SID", ""),
        "TIMEBANK_SMS_AUTH_TOKEN": os.environ.get("TIMEBANK_SMS_AUTH_TOKEN", ""),
        "TIMEBANK_SMS_FROM": os.environ.get("TIMEBANK_SMS_FROM", ""),
        # Also print every text the site queues to the terminal (development).
        "TIMEBANK_SMS_ECHO": _env_bool("TIMEBANK_SMS_ECHO", debug),
        # Past this many placed assets the map asks for what its view shows, grouped.
        "TIMEBANK_MAP_VIEWPORT_FROM": _env_int("TIMEBANK_MAP_VIEWPORT_FROM", 5000),
        # The council's study area for coverage gaps: "min_lon,min_lat,max_lon,max_lat".
        "TIMEBANK_AREA_BBOX": _env_bbox("TIMEBANK_AREA_BBOX"),
        # The bank an install starts with (and an upgraded single-bank install becomes).
        "TIMEBANK_BANK_NAME": os.environ.get("TIMEBANK_BANK_NAME", "Our time bank"),
        "TIMEBANK_AREA_NAME": os.environ.get("TIMEBANK_AREA_NAME", "Our council area"),
        # "json": one JSON object per log line, with the request id (for log collectors).
        "TIMEBANK_LOG_FORMAT": os.environ.get("TIMEBANK_LOG_FORMAT", "text"),
        # A log line per request from the app (gunicorn's access log usually does this).
        "TIMEBANK_LOG_REQUESTS": _env_bool("TIMEBANK_LOG_REQUESTS", False),
        # A read-only copy (a PostgreSQL hot standby) for reports, exports, open data and
        # map data; unset, everything reads the primary (timebank/infra/db.py).
        "TIMEBANK_DATABASE_REPLICA_URL": os.environ.get("TIMEBANK_DATABASE_REPLICA_URL", ""),
        # A replica further behind than this is not read from (the primary serves).
        "TIMEBANK_REPLICA_MAX_LAG_SECONDS": float(
            os.environ.get("TIMEBANK_REPLICA_MAX_LAG_SECONDS", "30")),
        # How long a report that took long to work out is shown again (core/reports/
        # snapshots.py); tests see every report worked out afresh unless they say.
        # How password hashes are made (infra/passwords.py): werkzeug's scrypt at its
        # full cost; the tests, which make thousands, at a 32nd of it.
        "TIMEBANK_PASSWORD_HASH": "scrypt:1024:8:1" if testing else "scrypt:32768:8:1",
        "TIMEBANK_REPORT_FRESH_SECONDS": _env_int("TIMEBANK_REPORT_FRESH_SECONDS",
                                                  0 if testing else 300),
        # How long a coordinator's list of waiting work that took long to work out is
        # shown again to the bank's coordinators (never to one who has just acted).
        "TIMEBANK_QUEUE_FRESH_SECONDS": _env_int("TIMEBANK_QUEUE_FRESH_SECONDS",
                                                 0 if testing else 30),
        # The bearer token /metrics asks for (unset: /metrics answers 404).
        "TIMEBANK_METRICS_TOKEN": os.environ.get("TIMEBANK_METRICS_TOKEN", ""),
        # Where the job runner's daily backup goes (unset: no scheduled backup), and how
        # many it keeps.
        "TIMEBANK_BACKUP_DIR": os.environ.get("TIMEBANK_BACKUP_DIR", ""),
        "TIMEBANK_BACKUP_KEEP": _env_int("TIMEBANK_BACKUP_KEEP", 7),
    }
    cfg.update(overrides)
    if cfg["TESTING"] and not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = "testing-only-not-secret"  # noqa: S105
    key_file = Path(instance_path) / "secret_key"
    if not cfg.get("SECRET_KEY") and key_file.is_file():
        # The key `make run` keeps, so the README's commands work as written after it.
        cfg["SECRET_KEY"] = key_file.read_text().strip() or None
    if not cfg.get("SECRET_KEY"):
        if cfg["DEBUG"]:
            cfg["SECRET_KEY"] = "debug-only-not-secret"  # noqa: S105
        else:
            raise RuntimeError(
                "TIMEBANK_SECRET_KEY is not set. Set it to a long random string, for example "
                '`export TIMEBANK_SECRET_KEY="$(python -c "import secrets; '
                'print(secrets.token_hex(32))")"`, or run with TIMEBANK_DEBUG=1 for local work.'
            )
    return cfg

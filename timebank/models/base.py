"""Shared column helpers."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    # Naive UTC: SQLite has no time zones and PostgreSQL columns are "without time zone".
    return datetime.now(UTC).replace(tzinfo=None)

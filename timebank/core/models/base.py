"""Shared column helpers."""

from datetime import datetime

from timebank.infra import clock


def utcnow() -> datetime:
    # Naive UTC: SQLite has no time zones and PostgreSQL columns are "without time zone".
    # Read through the app's clock, so tests and demos can pin the calendar.
    return clock.utcnow()

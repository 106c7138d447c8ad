"""The one clock the application reads.

Every "now" and "today" in the code comes from here, never from ``datetime.now()`` or
``date.today()`` directly (a test in tests/test_clock.py looks for them). That lets the
tests, a demo or a support session start the clock at a chosen moment: it then runs on at
the real pace, so ordering by time still works, but the calendar is the one chosen.
Nothing here reads Flask's request or config: ``create_app`` pins it from
``TIMEBANK_CLOCK_START`` when that is set.

Durations that are only ever compared with each other (session idle time, signed-link
age, rate-limit windows, the geocoder's spacing) keep reading ``time`` themselves: they
measure intervals, not the calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# How far this process's clock is from the machine's: zero unless pinned.
_offset = timedelta(0)


def utcnow() -> datetime:
    """Now in UTC, naive (SQLite has no time zones; PostgreSQL columns are without one)."""
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def now() -> datetime:
    """Now in the server's local time, naive."""
    return datetime.now() + _offset  # noqa: DTZ005 - the local calendar is the point


def today() -> date:
    """The server's local date: what members mean by "today" on a form."""
    return now().date()


def pin(at: datetime) -> None:
    """Start the clock at ``at`` (naive UTC, or aware) and let it run on from there."""
    global _offset
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    _offset = at - datetime.now(UTC).replace(tzinfo=None)


def unpin() -> None:
    global _offset
    _offset = timedelta(0)


def parse(value: str) -> datetime:
    """``TIMEBANK_CLOCK_START``: an ISO date or date and time (UTC when no zone is given)."""
    moment = datetime.fromisoformat(value.strip())
    return moment

"""The app's one clock: pinned in every test, and nothing reads the machine's calendar.

`make test` runs this file and the other date-sensitive ones again with the machine's
clock moved a year on, to 23:59 on 31 December (Makefile: test-moved-clock)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tests.support import NOW, ROOT, TODAY, build_app
from timebank.infra import clock

# Calls that read the machine's calendar. Only timebank/infra/clock.py may make them.
CALENDAR = re.compile(r"\b(?:date\.today|datetime\.(?:now|utcnow|today)|time\.localtime)\(")


def test_only_the_clock_reads_the_machines_calendar():
    offenders = []
    for folder in ("timebank", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "timebank" / "infra" / "clock.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if CALENDAR.search(line.split("#")[0]):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "read timebank.infra.clock instead:\n" + "\n".join(offenders)


def test_no_test_reads_the_clock_before_it_is_pinned():
    """Module constants and parametrize lists are read at import, before conftest pins the
    clock: there ``clock.today()`` is the machine's day (a listing's "yesterday" came out
    in the future once). They use tests.support.NOW and TODAY instead."""
    at_import = re.compile(r"^(?:[A-Za-z_].*|\s*\(.*)\bclock\.(?:today|now|utcnow)\(")
    offenders = [f"{path.name}:{number}: {line.strip()}"
                 for path in sorted((ROOT / "tests").glob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if at_import.match(line) and not line.lstrip().startswith(("def ", "#"))]
    assert offenders == [], "\n".join(offenders)


def test_every_test_starts_at_the_pinned_moment_and_the_clock_runs_on():
    assert clock.today() == TODAY
    first = clock.utcnow()
    assert timedelta(0) <= first - NOW < timedelta(minutes=5)
    assert clock.utcnow() >= first  # it runs, so "newest first" still means something


def test_the_clock_can_start_at_a_setting(tmp_path):
    """TIMEBANK_CLOCK_START: a demo (or a gunicorn the tests start) on a chosen day."""
    build_app(f"sqlite:///{tmp_path}/c.sqlite", TIMEBANK_CLOCK_START="2031-02-28T23:59:30")
    assert clock.utcnow().date() == datetime(2031, 2, 28).date()
    assert clock.utcnow() - datetime(2031, 2, 28, 23, 59, 30) < timedelta(seconds=30)

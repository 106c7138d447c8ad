"""Snapshots: something that took long to work out (a report, a coordinator's list of
waiting work) is kept, and shown again for a little while, instead of being worked out
on every view. Reports keep theirs for minutes; the work queue for seconds, and never
for a coordinator who has just acted (they see what they did at once).

Most of a report reads the monthly figures the ledger keeps (``ledger/rollups.py``), a
few rows a month. What cannot be kept that way are the counts of *distinct* people the
small-numbers rule needs (one person's exchanges in March and in April are one person,
not two) and the figures about every member (give and take, the ladder): on a town's
bank those took a second or more, on each view, in each of the council's comparisons.
So a report whose working out took longer than ``SLOW_SECONDS`` is kept, per worker,
for ``FRESH_SECONDS``, and the page says when it was worked out. One who has just
changed something sees it worked out afresh; a bank just begun (its report quick) always
does.

Reports are never what a person must see at once after writing (their balance and
statement are, and they read the ledger directly), and every figure on a kept report
(suppression included) comes from the one moment, so a kept report never shows one
figure newer than another.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from timebank.infra import cache

FRESH_SECONDS = 300
# Slow: a few times what a trivial page takes (/healthz, 2-4 ms under gunicorn). A
# 300-member bank's council report took 145 ms, its coordinator's 65; only a bank just
# begun works its report out quicker than this, and sees it always fresh.
SLOW_SECONDS = 0.005
# One who has just changed something sees what is kept worked out afresh for this long
# (``afresh``); what their view works out is kept, so after it they, and everyone, see
# one made after their change.
AFTER_ACTING_SECONDS = 30
KEPT = 256  # snapshots per worker (a report's filters make each view its own)


@dataclass(frozen=True)
class Snapshot:
    value: Any
    made_at: datetime  # when it was worked out
    kept: bool  # shown again to other views until FRESH_SECONDS have passed
    # What the web layer made of a kept report, by what it was asked (a page's figures
    # in a language are the same text for every viewer of the same view).
    rendered: dict = field(default_factory=dict, compare=False)


_kept: OrderedDict[tuple, Snapshot] = OrderedDict()
_guard = threading.Lock()
_building: dict[tuple, threading.Lock] = {}


def latest(key: tuple, build: Callable[[], Any], now: datetime,
           fresh_seconds: float = FRESH_SECONDS,
           slow_seconds: float | None = None, afresh: bool = False) -> Snapshot:
    """``build()``'s value for ``key``: a kept one made within ``fresh_seconds`` of
    ``now`` (unless ``afresh``), else built now (and kept, for everyone, when building
    took ``slow_seconds`` or more). Two views of the same report at once build it once."""
    with _guard:
        if len(_building) > 4 * KEPT:  # forget the locks of views long gone
            for old in [k for k, held in _building.items() if not held.locked()]:
                del _building[old]
        lock = _building.setdefault(key, threading.Lock())
    with lock:
        with _guard:
            found = _kept.get(key)
            if not afresh and found is not None and timedelta(0) <= now - found.made_at < timedelta(
                    seconds=fresh_seconds):
                _kept.move_to_end(key)
                return found
        started = time.perf_counter()
        value = build()
        slow = SLOW_SECONDS if slow_seconds is None else slow_seconds
        keep = time.perf_counter() - started >= slow and fresh_seconds > 0
        made = Snapshot(value, now, keep)
        with _guard:
            if keep:
                _kept[key] = made
                _kept.move_to_end(key)
                while len(_kept) > KEPT:
                    _kept.popitem(last=False)
            else:
                _kept.pop(key, None)
    return made


_erasures_seen: set[int] = set()  # versions of "erased" this worker has read


def naming_people(key: tuple) -> tuple:
    """The key of something kept that may name people (a report's lists, the work
    queue's names): an erasure, in whichever worker, moves it, so no worker shows an
    erased member's name again, not even for the minutes the rest is kept. The first
    sight of a new version drops what was kept under the others from memory too (a
    version seen before, as a lagging replica may give, drops nothing)."""
    version = cache.version(cache.ERASED)
    if version not in _erasures_seen:
        with _guard:
            if _erasures_seen:
                for old in [k for k in _kept if k[-1] != version]:
                    del _kept[old]
            _erasures_seen.add(version)
    return (*key, version)


def forget() -> None:
    """Drop every kept report (tests; a restored backup)."""
    with _guard:
        _kept.clear()

"""Rank who could help with a request. Pure functions over plain data: no Flask, no database.

A candidate's score is a weighted sum of five components, each between 0 and 1,
and every ranked candidate carries those components and plain-words reasons so
a coordinator can see why it ranks where it does (and override it):

- category:     has an open offer in the request's category;
- text:         share of the request's words found in the candidate's skills and offers;
- distance:     1 when next door, 0 at or beyond the radius (online/phone needs: 1 for all);
- availability: share of the requested times the candidate is free (unknown: 0.5);
- reciprocity:  favours members who have received more than they gave, so that
                everyone gets the chance to give as well as receive.

Suspended, pending and opted-out members, and the requester, are never ranked.
"""

from __future__ import annotations

import copy
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from timebank.infra.geo import haversine_km, haversine_km_many

WEIGHTS = {"category": 0.35, "text": 0.20, "distance": 0.20, "availability": 0.10,
           "reciprocity": 0.15}
DEFAULT_RADIUS_KM = 5.0
RECIPROCITY_SCALE_MIN = 600  # 10 hours of imbalance gives the full reciprocity score
UNKNOWN = 0.5

STOPWORDS = frozenset([
    "the", "and", "for", "with", "can", "you", "your", "need", "needs", "help", "helping",
    "have", "has", "who", "will", "would", "from", "this", "that", "are", "was", "were",
    "into", "some", "any", "our", "their", "them", "just", "like", "please", "want", "get",
    "got", "able", "also", "about", "over", "very", "more", "most", "much",
])
_WORD = re.compile(r"[a-z]{3,}")


def N_(text: str) -> str:
    """Mark a reason's words for the catalogues; pages word it in their language."""
    return text


class Reason(str):
    """A plain-words reason: reads as English, and keeps its message and values so a page
    can say it in its own language (the ``reason`` template filter)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params):
        reason = super().__new__(cls, msgid % params if params else msgid)
        reason.msgid, reason.params = msgid, params
        return reason


def words(text: str) -> frozenset[str]:
    """The distinctive words of ``text``: lower case, three letters or more, no stopwords."""
    return frozenset(_WORD.findall(text.lower())).difference(STOPWORDS)


class Candidate(NamedTuple):
    """One member who could be asked (a tuple: a city's pool builds 20,000 of them, and a
    frozen dataclass takes five times as long to make)."""

    member_id: int
    name: str
    category_ids: frozenset[int] = frozenset()
    offer_ids: tuple[tuple[int, int], ...] = ()  # (category_id, offer_id) of open offers
    words: frozenset[str] = frozenset()
    latitude: float | None = None
    longitude: float | None = None
    availability: int = 0  # bit mask of day/part-of-day slots, 0 = not said
    given: int = 0  # minutes given, all time
    received: int = 0
    status: str = "active"
    opted_out: bool = False

    @property
    def eligible(self) -> bool:
        return self.status == "active" and not self.opted_out

    def offer_for(self, category_id: int) -> int | None:
        return next((o for c, o in self.offer_ids if c == category_id), None)


@dataclass(frozen=True)
class Need:
    member_id: int
    category_id: int
    words: frozenset[str] = frozenset()
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float = DEFAULT_RADIUS_KM
    remote_ok: bool = False
    availability: int = 0


@dataclass
class Ranked:
    candidate: Candidate
    score: float
    components: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)
    distance_km: float | None = None
    offer_id: int | None = None  # the candidate's open offer in this category, if any


def _popcount(x: int) -> int:
    return bin(x).count("1")


def score(need: Need, c: Candidate, with_reasons: bool = True) -> Ranked:
    """Score one candidate for one need, with its components and (unless told not to)
    the reasons in plain words."""
    reasons: list[Reason] = []
    comp: dict[str, float] = {}

    def say(msgid: str, **params) -> None:
        if with_reasons:  # a shortlist of 100 is scored to keep 10: words only for those
            reasons.append(Reason(msgid, **params))

    comp["category"] = 1.0 if need.category_id in c.category_ids else 0.0
    if comp["category"]:
        say(N_("offers help of this kind"))

    shared = need.words & c.words
    comp["text"] = len(shared) / len(need.words) if need.words else 0.0
    if shared:
        say(N_("mentions %(words)s"), words=", ".join(sorted(shared)[:5]))

    distance = None
    if need.remote_ok:
        comp["distance"] = 1.0
        say(N_("can be done online or by phone"))
    elif None in (need.latitude, need.longitude, c.latitude, c.longitude):
        comp["distance"] = UNKNOWN
        say(N_("distance unknown"))
    else:
        distance = haversine_km(need.latitude, need.longitude, c.latitude, c.longitude)
        radius = need.radius_km or DEFAULT_RADIUS_KM
        comp["distance"] = max(0.0, 1.0 - distance / radius)
        say(N_("about %(km).1f km away"), km=distance)

    if need.availability and c.availability:
        overlap = _popcount(need.availability & c.availability)
        comp["availability"] = overlap / _popcount(need.availability)
        say(N_("free at %(free)d of %(asked)d asked times"), free=overlap,
            asked=_popcount(need.availability))
    else:
        comp["availability"] = UNKNOWN

    imbalance = (c.received - c.given) / RECIPROCITY_SCALE_MIN
    comp["reciprocity"] = (max(-1.0, min(1.0, imbalance)) + 1.0) / 2.0
    if c.received > c.given:
        say(N_("has received more than given: a chance to give back"))
    elif c.given > c.received:
        say(N_("has already given more than received"))

    total = sum(WEIGHTS[k] * v for k, v in comp.items())
    return Ranked(c, round(total, 4), {k: round(v, 3) for k, v in comp.items()}, reasons,
                  None if distance is None else round(distance, 2),
                  c.offer_for(need.category_id))


def order(r: Ranked) -> tuple:
    """Where ``r`` stands: highest score first, then nearer, then lower member id."""
    return -r.score, r.distance_km if r.distance_km is not None else 1e9, r.candidate.member_id


def rank(need: Need, candidates: Iterable[Candidate], limit: int = 10) -> list[Ranked]:
    """The best ``limit`` candidates, highest score first (ties: nearer, then lower id)."""
    scored = [score(need, c, with_reasons=False) for c in candidates
              if c.eligible and c.member_id != need.member_id]
    scored.sort(key=order)
    return [score(need, r.candidate) for r in scored[:limit]]


class CandidatePool:
    """The same ranking over many candidates, vectorised with numpy.

    Built once (for a page of requests, or a benchmark), then ``rank`` scores
    every candidate in a few array operations, keeps a shortlist and scores the
    shortlist exactly with ``score`` so the components shown are the real ones.
    Text overlap in the array pass uses a 64-bit word signature, which can only
    overestimate; the shortlist is wide enough that this does not change the top.
    """

    SHORTLIST = 100
    REMEMBERED = 2_000  # ranked needs kept per pool
    # Remembered rankings go this much deeper than asked, so that after an exchange most
    # can be brought up to date without ranking everyone again (``_moved_on``).
    DEEPER = 5

    def __init__(self, candidates: Sequence[Candidate]):
        self.candidates = [c for c in candidates if c.eligible]
        n = len(self.candidates)
        self.ids = np.fromiter((c.member_id for c in self.candidates), dtype=np.int64, count=n)
        self.lat = np.array([np.nan if c.latitude is None else c.latitude
                             for c in self.candidates], dtype=np.float64)
        self.lon = np.array([np.nan if c.longitude is None else c.longitude
                             for c in self.candidates], dtype=np.float64)
        self.avail = np.fromiter((c.availability for c in self.candidates), dtype=np.int64,
                                 count=n)
        self.sig = np.fromiter((_signature(c.words) for c in self.candidates), dtype=np.uint64,
                               count=n)
        self._give_and_take(
            np.fromiter((c.given for c in self.candidates), dtype=np.int64, count=n),
            np.fromiter((c.received for c in self.candidates), dtype=np.int64, count=n))
        members_of: dict[int, list[int]] = {}
        for i, c in enumerate(self.candidates):
            for cat in c.category_ids:
                members_of.setdefault(cat, []).append(i)
        self.by_category: dict[int, np.ndarray] = {
            k: np.array(v, dtype=np.int64) for k, v in members_of.items()}
        # (need, limit) -> (what is shown, its ranking ``DEEPER`` deeper than that; where
        # the last one stands, or None when the ranking holds every candidate)
        self._ranked: dict[tuple, tuple[list[Ranked], list[Ranked], tuple | None]] = {}
        # The pool this one's give and take was laid over: its rankings, and the members
        # whose minutes differ (see ``_moved_on``).
        self._before: dict[tuple, tuple[list[Ranked], list[Ranked], tuple | None]] = {}
        self._moved: np.ndarray = np.zeros(0, dtype=np.int64)
        self._order = np.argsort(self.ids, kind="stable")  # members by id, for lookups

    def _give_and_take(self, given, received) -> None:
        self.given, self.received = given, received
        balance = (received - given).astype(float)
        self.reciprocity = (np.clip(balance / RECIPROCITY_SCALE_MIN, -1, 1) + 1) / 2

    def _at(self, member_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``member_ids`` are in the pool, their places in its arrays)."""
        if not len(self.ids) or not len(member_ids):
            return np.zeros(len(member_ids), dtype=bool), np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.ids, member_ids, sorter=self._order),
                        len(self._order) - 1)
        known = self.ids[self._order[at]] == member_ids
        return known, self._order[at[known]]

    def with_totals(self, rows) -> CandidatePool:
        """This pool with each candidate's minutes given and received from ``rows`` of
        (member id, given, received); a candidate without a row has 0 and 0. The profiles'
        arrays are shared: only the give and take is new (array work, no Python loop)."""
        return self._laid(np.zeros(len(self.ids), dtype=np.int64),
                          np.zeros(len(self.ids), dtype=np.int64), rows)

    def with_changes(self, rows) -> CandidatePool:
        """This pool with the minutes of the members in ``rows`` (as ``with_totals``)
        changed and everyone else's as they are."""
        return self._laid(self.given.copy(), self.received.copy(), rows)

    def _laid(self, given: np.ndarray, received: np.ndarray, rows) -> CandidatePool:
        """``rows`` laid over ``given`` and ``received``: this very pool when no one's
        minutes moved (what it ranked stays good), else a new one that knows who moved."""

        table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        known, places = self._at(table[:, 0])
        given[places] = table[known, 1]
        received[places] = table[known, 2]
        moved = (given != self.given) | (received != self.received)
        if not moved.any():
            return self
        fresh = copy.copy(self)
        fresh._give_and_take(given, received)
        fresh._ranked, fresh._moved = {}, self.ids[moved]
        # Scoring the moved one by one pays only while they are few (an exchange moves
        # two); after a bulk import or a full read in a new epoch, rank afresh.
        fresh._before = self._ranked if len(fresh._moved) <= self.SHORTLIST else {}
        return fresh

    def ranked(self, key, need_of: Callable[[Any], Need], limit: int, source) -> list[Ranked]:
        """``rank(need_of(source), limit)``, remembered under ``key`` for this pool's life.

        A pool is replaced whenever what it ranks changes (profiles, offers, listings, or
        the give and take the ledger moves), so a need ranked again against the same
        pool, as the workbench's first page is by every coordinator, has the same
        answer. After an exchange, the new pool's answer comes from the old one's by
        scoring again only the members whose minutes moved (see ``_moved_on``)."""
        found: Any = self._ranked.get((key, limit))
        if found is None:
            if len(self._ranked) >= self.REMEMBERED:
                self._ranked.clear()
            need = need_of(source)
            before = self._before.get((key, limit))
            found = None if before is None else self._moved_on(need, *before[1:], limit)
            if found is None:
                deep = self.rank(need, limit + self.DEEPER)
                others = len(self.ids) - int(self._at(np.array([need.member_id]))[0][0])
                found = deep, None if len(deep) >= others else order(deep[-1])
            found = (found[0][:limit], *found)
            self._ranked[(key, limit)] = found
        return found[0]

    def _moved_on(self, need: Need, before: list[Ranked], floor: tuple | None,
                  limit: int) -> tuple[list[Ranked], tuple | None] | None:
        """The ranking ``before`` (of the pool this one was laid over) brought up to this
        pool's give and take, or None when too few are left above ``floor`` to tell.

        Only the moved members' scores changed. Everyone else not in ``before`` stood
        below ``floor`` (where its last entry stood) and still does, so the unmoved
        entries keep their places, and a moved member is placed exactly wherever it now
        stands above ``floor``; one that fell below it can no longer be told from the
        rest. With no floor, ``before`` held every candidate, and so does the answer.
        """
        moved = set(self._moved.tolist())
        kept = [r for r in before if r.candidate.member_id not in moved]
        _known, places = self._at(self._moved)
        for i in places.tolist():
            if self.candidates[i].member_id != need.member_id:
                r = score(need, self._candidate(i))
                if floor is None or order(r) < floor:
                    kept.append(r)
        if floor is not None and len(kept) < limit:
            return None
        kept.sort(key=order)
        if len(kept) > limit + self.DEEPER:  # an exact prefix: its last is a floor too
            del kept[limit + self.DEEPER:]
            floor = order(kept[-1])
        return kept, floor

    def _candidate(self, i: int) -> Candidate:
        return self.candidates[i]._replace(given=int(self.given[i]),
                                           received=int(self.received[i]))

    def rank(self, need: Need, limit: int = 10) -> list[Ranked]:

        n = len(self.candidates)
        if n == 0:
            return []
        total = np.zeros(n)
        rows = self.by_category.get(need.category_id)
        if rows is not None:
            total[rows] += WEIGHTS["category"]
        if need.words:
            need_sig = np.uint64(_signature(need.words))
            shared = np.bitwise_count(self.sig & need_sig).astype(np.float64)
            total += WEIGHTS["text"] * np.minimum(1.0, shared / len(need.words))
        far = np.full(n, 1e9)  # the distance ties are broken by (``order``): unknown last
        if need.remote_ok:
            total += WEIGHTS["distance"]
        elif need.latitude is None or need.longitude is None:
            total += WEIGHTS["distance"] * UNKNOWN
        else:
            d = haversine_km_many(need.latitude, need.longitude, self.lat, self.lon)
            radius = need.radius_km or DEFAULT_RADIUS_KM
            near = np.where(np.isnan(d), UNKNOWN, np.maximum(0.0, 1.0 - d / radius))
            total += WEIGHTS["distance"] * near
            far = np.where(np.isnan(d), 1e9, np.round(d, 2))
        if need.availability:
            overlap = np.bitwise_count(self.avail & need.availability).astype(np.float64)
            known = self.avail != 0
            share = overlap / _popcount(need.availability)
            total += WEIGHTS["availability"] * np.where(known, share, UNKNOWN)
        else:
            total += WEIGHTS["availability"] * UNKNOWN
        total += WEIGHTS["reciprocity"] * self.reciprocity
        total[self.ids == need.member_id] = -1.0
        shortlist = self._top(total, far, np.arange(n), max(self.SHORTLIST, 10 * limit))
        if need.words:  # the shortlist's text overlap exactly (the signature overestimates)
            exact = np.fromiter((len(need.words & self.candidates[i].words) for i in shortlist),
                                dtype=np.float64, count=len(shortlist)) / len(need.words)
            guess = np.minimum(1.0, shared[shortlist] / len(need.words))
            total[shortlist] += WEIGHTS["text"] * (exact - guess)
        # Only the best few of the shortlist are scored in full (with reasons, rounded, ties
        # broken as ``rank`` does): a margin over ``limit`` keeps rounding ties in.
        best = self._top(total, far, shortlist, 2 * limit + 10)
        return rank(need, (self._candidate(i) for i in best), limit)

    def _top(self, total: np.ndarray, far: np.ndarray, among: np.ndarray,
             count: int) -> np.ndarray:
        """The ``count`` best of ``among`` in ``order``'s order (score rounded as shown,
        then nearer, then lower member id), so that ties are broken as ``rank`` breaks
        them, whichever pool ranks: many members often tie (no place, no offers)."""
        score_of = np.round(total[among], 4)
        if count < len(among):
            cut = np.partition(score_of, len(among) - count)[len(among) - count]
            among, score_of = among[score_of >= cut], score_of[score_of >= cut]
        return among[np.lexsort((self.ids[among], far[among], -score_of))[:count]]


def _signature(ws: Iterable[str]) -> int:

    sig = 0
    for w in ws:
        sig |= 1 << (zlib.crc32(w.encode()) & 63)
    return sig

"""The published register as Open Referral HSDS 3.0: services, locations, organisations
and a taxonomy, as ``docs/open-data.md`` maps them.

Plain values in and out: the web layer parses nothing but the request and sends what
this builds. Nothing about members leaves here: no one who suggested, approved or
checked an asset, no review, no member's home (an asset at someone's home shows its
~500 m square and no address, organisation, e-mail or phone).
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from timebank.core.assets.register import categories, last_checked
from timebank.core.models import Asset, AssetStatus
from timebank.core.models.assets import open_data_id, public_point
from timebank.core.models.banks import Bank
from timebank.infra import cache, geo
from timebank.infra.db import like_pattern
from timebank.infra.extensions import db

VERSION = "3.0"
# The HSDS profile these answers follow: the base specification (no extra profile).
PROFILE = "https://docs.openreferral.org/en/3.0/"
PER_PAGE = 50
MAX_PER_PAGE = 1000
TAXONOMY_ID = open_data_id("taxonomy", "abcd-asset-kinds")


class BadQuery(ValueError):
    """A parameter that means nothing: the message says which and what it takes."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Query:
    page: int = 1
    per_page: int = PER_PAGE
    search: str = ""
    modified_after: datetime | None = None  # naive UTC
    taxonomy_term_id: str = ""
    taxonomy_id: str = ""
    organization_id: str = ""
    parent_id: str = ""
    top_only: bool = False
    postcode: str = ""
    proximity: float | None = None  # metres from the postcode's centre
    centre: tuple[float, float] | None = None  # that centre, found by the caller


def _positive(args: Mapping[str, str], name: str, default: int, most: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\s*\+?\d{1,9}\s*", raw) or int(raw) < 1:
        raise BadQuery(_("%(name)s must be a whole number from 1 (it was “%(value)s”).",
                         name=name, value=raw[:40]))
    return min(int(raw), most)


def _uuid(args: Mapping[str, str], name: str) -> str:
    raw = (args.get(name) or "").strip()
    if not raw:
        return ""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise BadQuery(_("%(name)s must be a UUID (it was “%(value)s”).", name=name,
                         value=raw[:40])) from None


def _moment(raw: str) -> datetime:
    """An ISO 8601 date or date-time (``Z`` or an offset; UTC when it has none)."""
    text = raw.strip()
    # "+01:00" sent unencoded in a query string arrives as " 01:00".
    text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", raw.rstrip())
    text = text.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(_("modified_after must be an ISO 8601 date or date-time, such as "
                         "2026-01-31T09:00:00Z (it was “%(value)s”).", value=raw[:40])) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse(args: Mapping[str, str]) -> Query:
    """The query string as a Query; BadQuery for a value that means nothing. Parameters
    HSDS defines that change nothing here (``full``, ``minimal``…) are accepted."""
    fmt = (args.get("format") or "json").strip().lower()
    if fmt != "json":
        raise BadQuery(_("format: only json is offered."))
    proximity = None
    if (args.get("proximity") or "").strip():
        try:
            proximity = float(args["proximity"])
        except ValueError:
            proximity = math.nan
        if not (math.isfinite(proximity) and 1 <= proximity <= 100_000):
            raise BadQuery(_("proximity is a distance in metres, from 1 to 100000."))
    postcode = " ".join((args.get("postcode") or "").split()).upper()
    if proximity is not None and not postcode:
        raise BadQuery(_("proximity needs a postcode to measure from."))
    if len(postcode) > 10 or not re.fullmatch(r"[A-Z0-9 ]*", postcode):
        raise BadQuery(_("postcode: letters, numbers and spaces, 10 at most."))
    top_only = (args.get("top_only") or "").strip().lower()
    if top_only not in ("", "true", "false", "1", "0"):
        raise BadQuery(_("top_only is true or false."))
    search = (args.get("search") or "").strip()
    if "\x00" in search or len(search) > 200:
        raise BadQuery(_("search: 200 characters at most."))
    raw_moment = (args.get("modified_after") or "").strip()
    return Query(
        page=_positive(args, "page", 1, 10**9), per_page=_positive(args, "per_page", PER_PAGE,
                                                                    MAX_PER_PAGE),
        search=search, modified_after=_moment(raw_moment) if raw_moment else None,
        taxonomy_term_id=_uuid(args, "taxonomy_term_id"),
        taxonomy_id=_uuid(args, "taxonomy_id"),
        organization_id=_uuid(args, "organization_id"), parent_id=_uuid(args, "parent_id"),
        top_only=top_only in ("true", "1"), postcode=postcode, proximity=proximity)


def with_centre(query: Query, centre: tuple[float, float] | None) -> Query:
    return replace(query, centre=centre)


# -- the register's parts as HSDS names them -----------------------------------------


def _words(text: str) -> str:
    """An organisation's name as matched: its letters and digits in any script, case,
    accents, punctuation and spacing aside ("St Mary's" is "St Mary’s", "Age UK." is
    "Age UK"). Empty for a name with no letter or digit ("-", "n/a" aside)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c if c.isalnum() else " " for c in decomposed
                   if unicodedata.category(c) != "Mn")
    words = " ".join(kept.split())
    return "" if words in ("na", "n a", "none", "unknown") else words


def organization_id(run_by: str) -> str:
    return open_data_id("organization", _words(run_by))


def term_id(slug: str) -> str:
    return open_data_id("asset-category", slug)


def _child(asset_uuid: str, part: str) -> str:
    """The id of a part of an asset (its location, an address…): derived, so stable."""
    return str(uuid.uuid5(uuid.UUID(asset_uuid), part))


# RFC 3986 (the "uri" format validators check), for what this module writes: scheme,
# host of letters, digits, dots and hyphens, an optional port, then path, query and
# fragment of unreserved, sub-delims, ":", "@", "/", "?" and whole %-escapes.
_PCHARS = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*"
_URI = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.?(?::\d{1,5})?"
                  r"(?:/" + _PCHARS + r")?(?:\?" + _PCHARS + r")?(?:#" + _PCHARS + r")?")


def _escape(part: str, safe: str) -> str:
    """Percent-encode what a URI cannot hold; a "%" not starting an escape is itself."""
    part = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part)
    return quote(part, safe=safe + "%")


def uri(value: str) -> str | None:
    """A web address as an absolute http(s) URI (registers write "www.x.org"), with
    anything a URI cannot hold percent-encoded; None when it is not a web address (or
    carries a user name or password)."""
    text = value.strip()
    if not text or any(c.isspace() for c in text) or text.lower().startswith("mailto:"):
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "." not in host or "@" in parts.netloc:
        return None
    try:
        host = host.encode("idna").decode() if not host.isascii() else host
    except UnicodeError:
        return None
    netloc = host + (f":{port}" if port is not None else "")
    safe = "/:@!$&'()*+,;=-._~"
    address = urlunsplit((parts.scheme.lower(), netloc, _escape(parts.path, safe),
                          _escape(parts.query, safe + "?"),
                          _escape(parts.fragment, safe + "?")))
    return address if _URI.fullmatch(address) else None


_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


def email(value: str) -> str | None:
    text = value.strip()
    return text if _EMAIL.fullmatch(text) else None


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


# -- opening hours as schedules ------------------------------------------------------

_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_DAY_WORDS = {
    "mo": 0, "mon": 0, "monday": 0, "mondays": 0, "tu": 1, "tue": 1, "tues": 1,
    "tuesday": 1, "tuesdays": 1, "we": 2, "wed": 2, "wednesday": 2, "wednesdays": 2,
    "th": 3, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "thursdays": 3, "fr": 4,
    "fri": 4, "friday": 4, "fridays": 4, "sa": 5, "sat": 5, "saturday": 5, "saturdays": 5,
    "su": 6, "sun": 6, "sunday": 6, "sundays": 6,
}
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?"
_SPAN = re.compile(_TIME + r"\s*(?:-|–|to)\s*" + _TIME, re.IGNORECASE)
_DAY_RUN = re.compile(r"([a-z]+)(?:\s*(?:-|–|to)\s*([a-z]+))?", re.IGNORECASE)


def _hour(hour: str, half: str | None) -> int:
    h = int(hour)
    if half and not 1 <= h <= 12:
        raise ValueError("not a 12-hour time")  # "13pm"
    if half == "pm" and h < 12:
        return h + 12
    if half == "am" and h == 12:
        return 0
    return h


def _times(span: re.Match) -> tuple[str, str]:
    """(opens, closes) of a span as people write them: "9am-5pm", "09:00-17:00", "9-5"
    (the afternoon), "10-2pm" (10 in the morning: a "pm" at the end moves the start
    too only when the start stays before the end). ValueError when it is not a time."""
    o_half, c_half = (span.group(3) or "").lower(), (span.group(6) or "").lower()
    opens_h, closes_h = _hour(span.group(1), o_half), _hour(span.group(4), c_half)
    opens_m, closes_m = int(span.group(2) or 0), int(span.group(5) or 0)
    if not o_half and c_half == "pm" and opens_h < 12 and opens_h + 12 < closes_h:
        opens_h += 12  # "1-5pm"
    twelve_hour = not (span.group(1).startswith("0") or span.group(4).startswith("0"))
    if (not o_half and not c_half and twelve_hour and closes_h <= opens_h
            and closes_h < 12 < closes_h + 12):
        closes_h += 12  # "9-5" (but "17:00-09:00" is a mistake, not the evening)
    if not (0 <= opens_h <= 23 and 0 <= closes_h <= 24 and opens_m < 60 and closes_m < 60
            and (closes_h < 24 or closes_m == 0)):
        raise ValueError("not a time")
    opens, closes = f"{opens_h:02d}:{opens_m:02d}", f"{closes_h:02d}:{closes_m:02d}"
    if closes <= opens:
        raise ValueError("closes before it opens")
    return opens, closes


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in re.split(r"[,&/]|\band\b", text.lower()):
        part = part.strip()
        if not part:
            continue
        match = _DAY_RUN.fullmatch(part)
        if not match or match.group(1) not in _DAY_WORDS:
            raise ValueError("not a day")
        first = _DAY_WORDS[match.group(1)]
        if match.group(2):
            if match.group(2) not in _DAY_WORDS:
                raise ValueError("not a day")
            last = _DAY_WORDS[match.group(2)]
            days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            days.append(first)
    if not days:
        raise ValueError("no day")
    return days


def weekly_rules(text: str) -> list[tuple[list[int], str, str]]:
    """Opening hours as (days, opens, closes) rules, as registers write them: "Mon-Fri
    9am-5pm", "Mo-Fr 09:00-17:00; Sa 10:00-12:00", "Tuesdays 10:00 to 12:00". Empty when
    any part is not understood: the words are then published as they are."""
    rules = []
    for part in re.split(r"[;\n]", text):
        part = part.strip().rstrip(".")
        if not part:
            continue
        span = _SPAN.search(part)
        if span is None:
            return []
        try:
            days = _days(part[:span.start()].strip().rstrip(":"))
            opens, closes = _times(span)
        except ValueError:
            return []
        if part[span.end():].strip():
            return []
        rules.append((days, opens, closes))
    return rules


def schedules(asset_uuid: str, sal_id: str, text: str) -> list[dict]:
    """The opening hours: one weekly RRULE-style schedule per rule understood, or the
    words alone."""
    rules = weekly_rules(text)
    if not rules:
        return [{"id": _child(asset_uuid, "schedule"), "service_at_location_id": sal_id,
                 "description": text.strip()}]
    return [{"id": _child(asset_uuid, f"schedule {i}"), "service_at_location_id": sal_id,
             "freq": "WEEKLY", "wkst": "MO", "interval": 1,
             "byday": ",".join(_DAYS[d] for d in days), "opens_at": opens,
             "closes_at": closes, "description": text.strip()}
            for i, (days, opens, closes) in enumerate(rules)]


# -- one asset ---------------------------------------------------------------------------


class Context(NamedTuple):
    """What every answer shares: the kinds, the organisations' names, the country."""

    terms: dict  # category id -> taxonomy term
    organizations: dict  # organization id -> organization (list form)
    country: str


def context() -> Context:
    """Built once per version of the register."""

    def build(_version: int) -> Context:
        terms = {c.id: _term(c) for c in categories()}
        names: dict[str, Counter] = {}
        counts: Counter = Counter()
        for run_by, n in db.session.execute(
                select(Asset.run_by, func.count()).where(
                    Asset.status == AssetStatus.PUBLISHED, Asset.run_by != "",
                    ~Asset.at_home).group_by(Asset.run_by)):
            if not _words(run_by):
                continue
            key = organization_id(run_by)
            names.setdefault(key, Counter())[run_by.strip()] += n
            counts[key] += n
        organizations = {}
        # Each organisation under the spelling most of its assets use, in name order.
        spelt = {key: min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
                 for key, spellings in names.items()}
        for key, name in sorted(spelt.items(), key=lambda i: _words(i[1])):
            organizations[key] = {
                "id": key, "name": name,
                "description": f"{name} runs {counts[key]} of the community assets in this "
                               "register." if counts[key] > 1 else
                               f"{name} runs one of the community assets in this register."}
        country = db.session.scalar(select(Bank.country).group_by(Bank.country)
                                    .order_by(func.count().desc()).limit(1)) or "GB"
        return Context(terms, organizations, country)

    return cache.built(cache.REGISTER, ("hsds context",), build,
                       lambda c: 600 * (len(c.terms) + len(c.organizations)) + 1024)


def _term(category) -> dict:
    return {"id": term_id(category.slug), "code": category.slug, "name": category.name_en,
            "description": f"{category.name_en}: one of the kinds of community asset of "
                           "asset-based community development (ABCD).",
            "taxonomy": "Kinds of community asset", "taxonomy_id": TAXONOMY_ID,
            "language": "en"}


def taxonomy() -> dict:
    return {"id": TAXONOMY_ID, "name": "Kinds of community asset",
            "description": "The kinds of asset of asset-based community development (ABCD): "
                           "associations, institutions, physical spaces, the local economy, "
                           "culture and heritage, and services.",
            "version": "1"}


def service_brief(asset: Asset, ctx: Context) -> dict:
    """The service as a list shows it (HSDS ``service_list``): one-to-one fields only."""
    out: dict = {"id": asset.uuid, "name": asset.name, "status": "active"}
    if asset.description:
        out["description"] = asset.description
    if not asset.at_home and (address := uri(asset.url)) is not None:
        out["url"] = address  # (a home's website may name who lives there)
    if not asset.at_home and (mail := email(asset.email)) is not None:
        out["email"] = mail
    eligibility = [asset.audience.strip()] if asset.audience.strip() else []
    if asset.open_to_all:
        eligibility.append("Open to everyone.")
    if eligibility:
        out["eligibility_description"] = " ".join(eligibility)
    out["assured_date"] = last_checked(asset).date().isoformat()
    out["last_modified"] = _stamp(asset.updated_at)
    org = _organization(asset, ctx)
    if org is not None:
        out["organization_id"] = org["id"]
        out["organization"] = org
    return out


def _organization(asset: Asset, ctx: Context) -> dict | None:
    if asset.at_home or not asset.run_by.strip():
        return None
    return ctx.organizations.get(organization_id(asset.run_by))


def location(asset: Asset, ctx: Context, full: bool = True) -> dict:
    location_id = _child(asset.uuid, "location")
    out: dict = {"id": location_id, "location_type": "physical", "name": asset.name}
    if (point := asset.public_point) is not None:
        out["latitude"], out["longitude"] = point
    if not full:
        return out
    if not asset.at_home and (asset.address_1 or asset.postal_code):
        out["addresses"] = [{
            "id": _child(asset.uuid, "address"), "location_id": location_id,
            "address_1": asset.address_1, "city": asset.city, "state_province": "",
            "postal_code": asset.postal_code, "country": ctx.country,
            "address_type": "physical"}]
    elif asset.at_home:
        out["description"] = "At someone's home: the place shown is the area, not the address."
    access = [part for part in (asset.accessibility.strip(),
                                "Step-free access." if asset.step_free else "") if part]
    if access:
        out["accessibility"] = [{"id": _child(asset.uuid, "accessibility"),
                                 "location_id": location_id, "description": access[0],
                                 "details": " ".join(access[1:])}]
    return out


def service_at_location(asset: Asset, ctx: Context, full: bool = True) -> dict:
    sal_id = _child(asset.uuid, "service_at_location")
    out: dict = {"id": sal_id, "service_id": asset.uuid,
                 "location_id": _child(asset.uuid, "location"),
                 "location": location(asset, ctx, full)}
    if full and asset.opening_hours.strip():
        out["schedules"] = schedules(asset.uuid, sal_id, asset.opening_hours)
    return out


def service(asset: Asset, ctx: Context) -> dict:
    """The whole service (HSDS ``service``): with its location, schedules, phone and kind."""
    out = service_brief(asset, ctx)
    if asset.phone.strip() and not asset.at_home:
        out["phones"] = [{"id": _child(asset.uuid, "phone"), "service_id": asset.uuid,
                          "number": asset.phone.strip()}]
    out["service_at_locations"] = [service_at_location(asset, ctx)]
    term = ctx.terms.get(asset.category_id)
    if term is not None:
        out["attributes"] = [{"id": _child(asset.uuid, "kind"), "link_id": asset.uuid,
                              "link_type": "service", "link_entity": "service",
                              "taxonomy_term_id": term["id"], "taxonomy_term": term}]
    return out


def sal_brief(asset: Asset, ctx: Context) -> dict:
    """A service at a location as a list shows it: the location's and service's own fields."""
    out = service_at_location(asset, ctx, full=False)
    brief = service_brief(asset, ctx)
    brief.pop("organization", None)
    out["service"] = brief
    return out


# -- lists ---------------------------------------------------------------------------


def page(items: list, total: int, query: Query) -> dict:
    """The specification's Page around ``items``, the ``query.page``-th of ``total``."""
    pages = math.ceil(total / query.per_page)
    return {"total_items": total, "total_pages": pages, "page_number": query.page,
            "size": len(items), "first_page": query.page == 1,
            "last_page": query.page >= pages, "empty": not items, "contents": items}


def _published():
    return select(Asset).where(Asset.status == AssetStatus.PUBLISHED)


def _filtered(query: Query, ctx: Context):
    """The published assets ``query`` chooses, in a stable order (name, then row)."""
    chosen = _published()
    if query.search:
        like = like_pattern(query.search)
        chosen = chosen.where(or_(Asset.name.ilike(like, escape="\\"),
                                  Asset.description.ilike(like, escape="\\")))
    if query.modified_after is not None:
        chosen = chosen.where(Asset.updated_at >= query.modified_after)
    if query.taxonomy_id and query.taxonomy_id != TAXONOMY_ID:
        return None
    if query.taxonomy_term_id:
        ids = [cid for cid, term in ctx.terms.items() if term["id"] == query.taxonomy_term_id]
        chosen = chosen.where(Asset.category_id.in_(ids))
    if query.organization_id:
        if query.organization_id not in ctx.organizations:
            return None
        names = [run_by for (run_by,) in db.session.execute(
            select(Asset.run_by).where(Asset.status == AssetStatus.PUBLISHED, ~Asset.at_home)
            .distinct()) if organization_id(run_by) == query.organization_id]
        chosen = chosen.where(Asset.run_by.in_(names), ~Asset.at_home)
    if query.postcode and query.proximity is None:
        # Never a home: its postcode is its address, near enough.
        chosen = chosen.where(~Asset.at_home, func.upper(func.replace(
            Asset.postal_code, " ", "")).like(_district(query.postcode)))
    return chosen.order_by(Asset.name, Asset.id)


def _district(postcode: str) -> str:
    """The LIKE pattern ``postcode`` alone matches: its district (outward code) and
    any three-character inward code ("SW1A 1AA" → "SW1A___", so not SW1 or SW10);
    anything not a UK postcode, itself."""
    compact = postcode.replace(" ", "")
    if re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}", compact):
        return compact[:-3] + "___"
    parts = postcode.split()
    if len(parts) == 1 and re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?", compact):
        return compact + "___"  # a district alone
    return compact.replace("_", "")


def _near(chosen, query: Query) -> list[int]:
    """The chosen assets' ids within ``query.proximity`` metres of its centre, in order."""
    lat, lon = query.centre or (0.0, 0.0)
    km = (query.proximity or 0) / 1000
    min_lat, min_lon, max_lat, max_lon = geo.bbox_around(lat, lon, km + 1)  # home squares
    rows = db.session.execute(chosen.with_only_columns(
        Asset.id, Asset.latitude, Asset.longitude, Asset.at_home)
        .where(Asset.latitude.between(min_lat, max_lat),
               Asset.longitude.between(min_lon, max_lon)))
    found = []
    for asset_id, a_lat, a_lon, at_home in rows:
        point = public_point(a_lat, a_lon, at_home)
        if point is not None and geo.haversine_km(lat, lon, *point) <= km:
            found.append(asset_id)
    return found


def _assets_page(query: Query, ctx: Context) -> tuple[list[Asset], int]:
    chosen = _filtered(query, ctx)
    if chosen is None:
        return [], 0
    start = (query.page - 1) * query.per_page
    if query.proximity is not None:
        if query.centre is None:
            return [], 0
        ids = _near(chosen, query)
        wanted = ids[start:start + query.per_page]
        found = {a.id: a for a in db.session.scalars(select(Asset).where(Asset.id.in_(wanted)))}
        return [found[i] for i in wanted], len(ids)
    total = db.session.scalar(select(func.count()).select_from(
        chosen.order_by(None).with_only_columns(Asset.id).subquery())) or 0
    if start >= total:
        return [], total
    return list(db.session.scalars(chosen.offset(start).limit(query.per_page))), total


def services_page(query: Query) -> dict:
    ctx = context()
    assets, total = _assets_page(query, ctx)
    return page([service_brief(a, ctx) for a in assets], total, query)


def service_at_locations_page(query: Query) -> dict:
    ctx = context()
    assets, total = _assets_page(query, ctx)
    return page([sal_brief(a, ctx) for a in assets], total, query)


def _matches(item: dict, search: str) -> bool:
    words = search.casefold()
    return any(words in str(item.get(k, "")).casefold() for k in ("name", "description",
                                                                     "code"))


def _listed(items: list[dict], query: Query) -> dict:
    if query.search:
        items = [i for i in items if _matches(i, query.search)]
    start = (query.page - 1) * query.per_page
    return page(items[start:start + query.per_page], len(items), query)


def organizations_page(query: Query) -> dict:
    return _listed(list(context().organizations.values()), query)


def taxonomies_page(query: Query) -> dict:
    return _listed([taxonomy()], query)


def taxonomy_terms_page(query: Query) -> dict:
    terms = list(context().terms.values())
    if query.taxonomy_id and query.taxonomy_id != TAXONOMY_ID:
        terms = []
    if query.parent_id:
        terms = []  # the kinds are one flat level: no term has a parent
    return _listed(terms, query)


# -- one thing by its id ----------------------------------------------------------------


def _asset_by_uuid(value: str) -> Asset | None:
    try:
        key = str(uuid.UUID(value))
    except ValueError:
        return None
    return db.session.scalar(_published().where(Asset.uuid == key))


def service_by_id(value: str) -> dict | None:
    asset = _asset_by_uuid(value)
    return None if asset is None else service(asset, context())


def _asset_by_part(value: str, part: str) -> Asset | None:
    """The published asset whose ``part`` (its service_at_location…) has id ``value``.
    Those ids are derived from the asset's, so this looks through the register once
    per version of it."""
    try:
        key = str(uuid.UUID(value))
    except ValueError:
        return None

    def build(_version: int) -> dict[str, int]:
        return {_child(u, part): i for i, u in db.session.execute(
            select(Asset.id, Asset.uuid).where(Asset.status == AssetStatus.PUBLISHED))}

    ids = cache.built(cache.REGISTER, ("hsds parts", part), build, lambda d: 160 * len(d))
    return db.session.get(Asset, ids[key]) if key in ids else None


def service_at_location_by_id(value: str) -> dict | None:
    asset = _asset_by_part(value, "service_at_location")
    if asset is None:
        return None
    ctx = context()
    out = service_at_location(asset, ctx)
    brief = service_brief(asset, ctx)
    brief.pop("organization", None)
    out["service"] = brief
    # HSDS 3.0's OpenAPI document gives this path the *service* schema (a slip: the list
    # is of service_at_location); the service's name and status make the answer valid
    # under both, for validators that follow the document to the letter.
    out["name"], out["status"] = brief["name"], brief["status"]
    return out


def organization_by_id(value: str) -> dict | None:
    try:
        key = str(uuid.UUID(value))
    except ValueError:
        return None
    return context().organizations.get(key)


def taxonomy_by_id(value: str) -> dict | None:
    return taxonomy() if value.strip().lower() == TAXONOMY_ID else None


def taxonomy_term_by_id(value: str) -> dict | None:
    for term in context().terms.values():
        if term["id"] == value.strip().lower():
            return term
    return None


def postcode_centre(postcode: str) -> tuple[float, float] | None:
    """Where ``postcode`` is: the middle of the register's own assets there (never a
    home's), else what the geocoder once found for it. Never the geocoder itself: anyone
    may ask, and its service must not get their traffic."""
    compact = postcode.replace(" ", "")
    row = db.session.execute(
        select(func.avg(Asset.latitude), func.avg(Asset.longitude)).where(
            Asset.status == AssetStatus.PUBLISHED,
            func.upper(func.replace(Asset.postal_code, " ", "")) == compact,
            Asset.latitude.is_not(None), ~Asset.at_home)).one()
    if row[0] is not None:
        return float(row[0]), float(row[1])
    place = geo.cached_place(postcode)
    return None if place is None else (place.latitude, place.longitude)

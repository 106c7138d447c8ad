"""``/api/hsds/``: the published asset register as Open Referral HSDS 3.0, open and
anonymous (CORS for any origin), each answer built once per version of the register and
sent with an ETag. What it holds and how the register maps onto HSDS:
``docs/open-data.md``; the building: ``core/assets/hsds.py``."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from importlib import resources

from flask import Blueprint, Response, abort, request, url_for
from flask_babel import gettext as _

from timebank.core.assets import hsds
from timebank.infra import cache, maps
from timebank.web import caching
from timebank.web.extensions import csrf, limiter
from timebank.web.permissions import allow
from timebank.web.routing import open_data_reads

bp = Blueprint("hsds", __name__, url_prefix="/api/hsds")
csrf.exempt(bp)  # nothing here changes anything: GET, HEAD and OPTIONS only
# Generous for a validator walking every page, shared by the workers (Redis in
# production): one client cannot keep the others waiting.
limiter.limit("600/minute")(bp)

# What a browser on another site may send and read (the validators, for ETag/304).
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match, "
                                        "If-Modified-Since, Cache-Control",
        "Access-Control-Expose-Headers": "ETag",
        "Access-Control-Max-Age": "86400"}


@bp.after_app_request
def open_to_all(response: Response) -> Response:
    """Every answer here, errors (a path that is not one too) and preflights (Flask
    answers OPTIONS) as well, readable from any site: the data is public."""
    if not request.path.startswith(bp.url_prefix or "/api/hsds"):
        return response
    response.headers.update(CORS)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _query() -> hsds.Query:
    try:
        return hsds.parse(request.args)
    except hsds.BadQuery as error:
        abort(400, error.message)


def _send(key: tuple, build: Callable[[], object]) -> Response:
    """``build()``'s answer as JSON, once per version of the register and ``key``: what
    was asked as parsed (a Query, an id as a UUID), never the raw query string, so that
    nobody can fill the cache with ways of writing one question."""
    return caching.send(cache.body(
        cache.REGISTER, ("hsds", *key),
        lambda: str(maps.html_safe_json(build())).encode(), "application/json"))


def _send_now(value: object) -> Response:
    """An answer that carries this site's address (which the Host header names): built
    each time, as it is small, and never kept."""
    data = str(maps.html_safe_json(value)).encode()
    tag = hashlib.blake2b(data, digest_size=8).hexdigest()
    return caching.send(cache.Body.of(data, "application/json", f"hsds-{tag}"))


def _id(value: str) -> str:
    """An id as the key of its answer: a UUID written one way, anything else one key."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return "not a uuid"


def _found(value: dict | None) -> dict:
    if value is None:
        abort(404, _("There is nothing with that id in this register's open data."))
    return value


# Open data is read by machines, often in bulk: from the read replica where there is one.
bp.before_request(open_data_reads)


@bp.route("/")
@allow("opendata.read")
def root():
    return _send_now({"version": hsds.VERSION, "profile": hsds.PROFILE,
                      "openapi_url": url_for("hsds.openapi", _external=True)})


@bp.route("/openapi.json")
@allow("opendata.read")
def openapi():
    """The specification's OpenAPI document (vendored), with this API's own details."""

    document = dict(_openapi_document())
    document["servers"] = [{"url": url_for("hsds.root", _external=True).rstrip("/")}]
    return _send_now(document)


@functools.cache
def _openapi_document() -> dict:
    """The vendored document with this API's details (read once per process)."""
    text = resources.files("timebank").joinpath("static/vendor/hsds/openapi-3.0.json")
    document = json.loads(text.read_text(encoding="utf-8"))
    document["info"] = {
        "title": "Community assets: Open Referral HSDS 3.0",
        "version": "1.0.0",
        "summary": "The published community asset register, as open data.",
        "description": "Published community assets as HSDS services, locations, "
                       "organizations and a taxonomy of asset kinds. Nothing about "
                       "members. See docs/open-data.md.",
        "license": {"name": "Open Government Licence v3.0",
                    "url": "https://www.nationalarchives.gov.uk/doc/"
                           "open-government-licence/version/3/"}}
    return document


@bp.route("/services", strict_slashes=False)
@allow("opendata.read")
def services():
    query = _located(_query())
    return _send(("services", query), lambda: hsds.services_page(query))


@bp.route("/services/<value>", strict_slashes=False)
@allow("opendata.read")
def service(value: str):
    return _send(("service", _id(value)), lambda: _found(hsds.service_by_id(value)))


@bp.route("/service_at_locations", strict_slashes=False)
@allow("opendata.read")
def service_at_locations():
    query = _located(_query())
    return _send(("sals", query), lambda: hsds.service_at_locations_page(query))


@bp.route("/service_at_locations/<value>", strict_slashes=False)
@allow("opendata.read")
def service_at_location(value: str):
    return _send(("sal", _id(value)),
                 lambda: _found(hsds.service_at_location_by_id(value)))


@bp.route("/organizations", strict_slashes=False)
@allow("opendata.read")
def organizations():
    query = _query()
    return _send(("organizations", query), lambda: hsds.organizations_page(query))


@bp.route("/organizations/<value>", strict_slashes=False)
@allow("opendata.read")
def organization(value: str):
    return _send(("organization", _id(value)),
                 lambda: _found(hsds.organization_by_id(value)))


@bp.route("/taxonomies", strict_slashes=False)
@allow("opendata.read")
def taxonomies():
    query = _query()
    return _send(("taxonomies", query), lambda: hsds.taxonomies_page(query))


@bp.route("/taxonomies/<value>", strict_slashes=False)
@allow("opendata.read")
def taxonomy(value: str):
    return _send(("taxonomy", _id(value)), lambda: _found(hsds.taxonomy_by_id(value)))


@bp.route("/taxonomy_terms", strict_slashes=False)
@allow("opendata.read")
def taxonomy_terms():
    query = _query()
    return _send(("terms", query), lambda: hsds.taxonomy_terms_page(query))


@bp.route("/taxonomy_terms/<value>", strict_slashes=False)
@allow("opendata.read")
def taxonomy_term(value: str):
    return _send(("term", _id(value)), lambda: _found(hsds.taxonomy_term_by_id(value)))


def _located(query: hsds.Query) -> hsds.Query:
    """With ``proximity``, where the postcode is (the register's own postcodes, or one
    the geocoder found before); a postcode nobody here knows matches nothing."""
    if query.proximity is None:
        return query
    return hsds.with_centre(query, hsds.postcode_centre(query.postcode))

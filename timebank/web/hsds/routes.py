"""``/api/hsds/``: the published asset register as Open Referral HSDS 3.0, open and
anonymous (CORS for any origin), each answer built once per version of the register and
sent with an ETag. What it holds and how the register maps onto HSDS:
``docs/open-data.md``; the building: ``core/assets/hsds.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

from flask import Blueprint, Response, abort, request, url_for
from flask_babel import gettext as _

from timebank.core.assets import hsds
from timebank.infra import cache, geo, maps
from timebank.web import caching
from timebank.web.extensions import csrf
from timebank.web.permissions import allow

bp = Blueprint("hsds", __name__, url_prefix="/api/hsds")
csrf.exempt(bp)  # nothing here changes anything: GET, HEAD and OPTIONS only

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
    """``build()``'s answer as JSON, once per version of the register, ``key`` and site
    address (the answers carry the site's own links)."""
    return caching.send(cache.body(
        cache.REGISTER, ("hsds", request.host_url, *key),
        lambda: str(maps.html_safe_json(build())).encode(), "application/json"))


def _args_key() -> tuple:
    return tuple(sorted(request.args.items(multi=True)))


def _found(value: dict | None) -> dict:
    if value is None:
        abort(404, _("There is nothing with that id in this register's open data."))
    return value


@bp.route("/")
@allow("opendata.read")
def root():
    return _send(("root",), lambda: {
        "version": hsds.VERSION, "profile": hsds.PROFILE,
        "openapi_url": url_for("hsds.openapi", _external=True)})


@bp.route("/openapi.json")
@allow("opendata.read")
def openapi():
    """The specification's OpenAPI document (vendored), with this API's own details."""

    def build() -> dict:
        text = resources.files("timebank").joinpath("static/hsds/openapi-3.0.json")
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
        document["servers"] = [{"url": url_for("hsds.root", _external=True).rstrip("/")}]
        return document

    return _send(("openapi",), build)


@bp.route("/services")
@allow("opendata.read")
def services():
    query = _located(_query())
    return _send(("services", _args_key()), lambda: hsds.services_page(query))


@bp.route("/services/<value>")
@allow("opendata.read")
def service(value: str):
    return _send(("service", value), lambda: _found(hsds.service_by_id(value)))


@bp.route("/service_at_locations")
@allow("opendata.read")
def service_at_locations():
    query = _located(_query())
    return _send(("sals", _args_key()), lambda: hsds.service_at_locations_page(query))


@bp.route("/service_at_locations/<value>")
@allow("opendata.read")
def service_at_location(value: str):
    return _send(("sal", value), lambda: _found(hsds.service_at_location_by_id(value)))


@bp.route("/organizations")
@allow("opendata.read")
def organizations():
    query = _query()
    return _send(("organizations", _args_key()), lambda: hsds.organizations_page(query))


@bp.route("/organizations/<value>")
@allow("opendata.read")
def organization(value: str):
    return _send(("organization", value), lambda: _found(hsds.organization_by_id(value)))


@bp.route("/taxonomies")
@allow("opendata.read")
def taxonomies():
    query = _query()
    base = url_for("assets.index", _external=True)
    return _send(("taxonomies", _args_key()), lambda: hsds.taxonomies_page(query, base))


@bp.route("/taxonomies/<value>")
@allow("opendata.read")
def taxonomy(value: str):
    base = url_for("assets.index", _external=True)
    return _send(("taxonomy", value), lambda: _found(hsds.taxonomy_by_id(value, base)))


@bp.route("/taxonomy_terms")
@allow("opendata.read")
def taxonomy_terms():
    query = _query()
    return _send(("terms", _args_key()), lambda: hsds.taxonomy_terms_page(query))


@bp.route("/taxonomy_terms/<value>")
@allow("opendata.read")
def taxonomy_term(value: str):
    return _send(("term", value), lambda: _found(hsds.taxonomy_term_by_id(value)))


def _located(query: hsds.Query) -> hsds.Query:
    """With ``proximity``, where the postcode is: the register's own assets there, else
    the geocoder (once per postcode: it keeps what it found)."""
    if query.proximity is None:
        return query

    def locate(postcode: str):
        try:
            place = geo.geocoder().geocode(postcode)
        except geo.GeocoderUnavailable:
            abort(503, _("The postcode could not be looked up just now; try again later."))
        return None if place is None else (place.latitude, place.longitude)

    centre = hsds.postcode_centre(query.postcode, locate)
    if centre is None:
        abort(400, _("That postcode could not be found."))
    return hsds.with_centre(query, centre)

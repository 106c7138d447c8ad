"""The open data: /api/hsds/ against the published HSDS 3.0 schemas (vendored in
tests/hsds/), paging, filters, CORS, validators, and nothing about members."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support import count_queries, many_assets
from timebank.core import demo
from timebank.core.assets import files, hsds, sources
from timebank.core.models import Asset, AssetCategory, Member, MemberStatus
from timebank.core.models.assets import open_data_id
from timebank.core.models.base import utcnow
from timebank.infra import cache
from timebank.infra.extensions import db

SCHEMAS = Path(__file__).parent / "hsds" / "schema"
RAW = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
API = "/api/hsds"
CAFE = 'Café <b>&</b> "Books"'


def _registry() -> Registry:
    """Every vendored schema under its bare name (how they refer to each other) and its
    published address (how the OpenAPI document refers to them)."""
    resources = []
    for path in [*SCHEMAS.glob("*.json"), *SCHEMAS.glob("compiled/*.json")]:
        contents = json.loads(path.read_text())
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        name = path.relative_to(SCHEMAS).as_posix()
        resources += [(name, resource), (RAW + name, resource)]
    return Registry().with_resources(resources)


REGISTRY = _registry()
OPENAPI = json.loads((SCHEMAS / "openapi.json").read_text())
CHECKER = Draft202012Validator.FORMAT_CHECKER


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": name}, registry=REGISTRY, format_checker=CHECKER)


def test_the_formats_are_really_checked():
    """uuid, uri, email and date-time are checked (jsonschema[format] is installed): a
    validation that let anything through would prove nothing."""
    assert not CHECKER.conforms("www.example.org", "uri")
    assert not CHECKER.conforms("not-a-uuid", "uuid")
    assert not CHECKER.conforms("2026-13-01T00:00:00Z", "date-time")
    assert not CHECKER.conforms("nobody", "email")
    with pytest.raises(Exception, match="required"):
        validator("service.json").validate({"id": str(uuid.uuid4())})


def _response_schema(path: str) -> dict:
    """The schema OpenAPI gives a 200 answer of ``path`` (a list: Page and its items)."""
    operation = OPENAPI["paths"][path]["get"]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def check(path_template: str, body: dict) -> None:
    """``body`` against the OpenAPI document's schema for the path, as published, and
    each list item against its item schema."""
    schema = _response_schema(path_template)
    if "allOf" in schema:  # a list: the Page and the items
        page = OPENAPI["components"]["schemas"]["Page"]
        Draft202012Validator(page, format_checker=CHECKER).validate(body)
        assert set(page["properties"]) <= set(body), "every Page field"
        items = validator(schema["properties"]["contents"]["items"]["$ref"])
        for item in body["contents"]:
            items.validate(item)
            assert uuid.UUID(item["id"]).version in (4, 5)
    elif "$ref" in schema:
        # The whole compiled objects (2-3.5 MB each, not vendored) are these with their
        # references followed.
        validator(schema["$ref"].replace("compiled/", "")).validate(body)
    else:
        Draft202012Validator(schema, format_checker=CHECKER).validate(body)


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def walk(client, path: str, per_page: int = 50) -> list[dict]:
    """Every item of a list, page by page, each page checked."""
    items, number = [], 1
    while True:
        body = get_json(client, f"{API}{path}?page={number}&per_page={per_page}")
        check(path, body)
        assert body["page_number"] == number and body["size"] == len(body["contents"])
        items += body["contents"]
        if body["last_page"]:
            assert body["total_pages"] == (number if body["total_items"] else 0)
            break
        number += 1
    assert len(items) == body["total_items"]
    return items


def check_everything(client) -> dict[str, list[dict]]:
    """Every endpoint, every page, every thing by its id: all valid."""
    check("/", get_json(client, f"{API}/"))
    found = {}
    for path in ("/services", "/service_at_locations", "/organizations", "/taxonomies",
                 "/taxonomy_terms"):
        found[path] = walk(client, path)
    for item in found["/services"]:
        whole = get_json(client, f"{API}/services/{item['id']}")
        validator("service.json").validate(whole)
        validator("compiled/service_with_definitions.json").validate(whole)
    for item in found["/service_at_locations"]:
        whole = get_json(client, f"{API}/service_at_locations/{item['id']}")
        validator("service_at_location.json").validate(whole)
        check("/service_at_locations/{id}", whole)  # the OpenAPI document says: a service
    for item in found["/organizations"]:
        check("/organizations/{id}", get_json(client, f"{API}/organizations/{item['id']}"))
    for item in found["/taxonomies"]:
        check("/taxonomies/{id}", get_json(client, f"{API}/taxonomies/{item['id']}"))
    for item in found["/taxonomy_terms"]:
        check("/taxonomy_terms/{id}", get_json(client, f"{API}/taxonomy_terms/{item['id']}"))
    return found


# -- a register with everything messy registers have -----------------------------------


def kind(slug: str = "physical") -> int:
    return db.session.query(AssetCategory).filter_by(slug=slug).one().id


@pytest.fixture
def register(app):
    """Members with words nobody else has (to look for in every answer), and assets they
    suggested and approved, written as real registers write them."""
    with app.app_context():
        nosy = Member(email="secret.member@example.org", display_name="Zebedee Quartermaine",
                      status=MemberStatus.ACTIVE, phone="07700 900 777", password_hash="x")
        db.session.add(nosy)
        db.session.flush()
        rows = [
            dict(name="Riverside Hall", url="www.riverside-hall.org.uk",
                 email="bookings@riverside-hall.org.uk", phone="020 7946 0000",
                 address_1="1 High Street", city="Riverside", postal_code="RV1 1AA",
                 latitude=51.5010, longitude=-0.1000, opening_hours="Mon-Fri 9am-5pm",
                 accessibility="Ramp at the side door", step_free=True,
                 run_by="Riverside Community Association", audience="Everyone",
                 source_id="hall-1"),
            dict(name=CAFE, url="http://exämple.org/a-path?x=ü",
                 email="not an address", address_1="2 High Street", city="Riverside",
                 postal_code="RV1 1AB", latitude=51.5012, longitude=-0.1003,
                 opening_hours="Mo-Fr 09:00-17:00; Sa 10:00-12:00",
                 run_by="riverside  community association", slug="economy"),
            dict(name="Pat's garden workshop", at_home=True, address_1="7 Secret Lane",
                 city="Riverside", postal_code="RV2 9ZZ", latitude=51.512345,
                 longitude=-0.112345, phone="07700 900 123", email="pat@home.example",
                 run_by="Pat Private", opening_hours="when the sun shines"),
            dict(name="Unplaced club", url="javascript:alert(1)",
                 opening_hours="Tuesdays 10:00 to 12:00", slug="associations"),
        ]
        for row in rows:
            slug = row.pop("slug", "physical")
            db.session.add(Asset(category_id=kind(slug), status="published",
                                 submitted_by_id=nosy.id, approved_by_id=nosy.id,
                                 checked_by_id=nosy.id, confirmed_at=utcnow(), **row))
        db.session.add(Asset(name="Only proposed", category_id=kind(), status="proposed",
                             submitted_by_id=nosy.id))
        db.session.commit()
    return {"member": ("Zebedee", "Quartermaine", "secret.member", "07700 900 777",
                       "7700900777")}


def test_every_endpoint_validates_and_tells_nothing_about_members(client, app, register):
    found = check_everything(client)
    names = {s["name"] for s in found["/services"]}
    assert names == {"Riverside Hall", CAFE, "Pat's garden workshop",
                     "Unplaced club"}, "published only"
    # One organisation for two spellings; none for a home.
    assert [o["name"] for o in found["/organizations"]] == ["Riverside Community Association"]
    assert len(found["/taxonomy_terms"]) == 6
    bodies = []
    for path in ("/services", "/service_at_locations", "/organizations"):
        for item in found[path]:
            bodies.append(client.get(f"{API}{path}/{item['id']}").get_data(as_text=True))
    bodies += [client.get(f"{API}{p}?per_page=1000").get_data(as_text=True)
               for p in ("/services", "/service_at_locations", "/organizations")]
    text = "\n".join(bodies)
    for word in register["member"]:
        assert word not in text
    with app.app_context():
        nosy = db.session.query(Member).filter_by(display_name="Zebedee Quartermaine").one()
        for asset in db.session.query(Asset):
            assert f'"{asset.id}"' not in text or asset.id == nosy.id  # no row ids as ids
    # A home: its ~500 m square, no address, no contact, no organisation.
    home = next(s for s in found["/services"] if s["name"] == "Pat's garden workshop")
    whole = get_json(client, f"{API}/services/{home['id']}")
    place = whole["service_at_locations"][0]["location"]
    assert "addresses" not in place and "phones" not in whole and "email" not in whole
    assert "organization_id" not in whole
    assert (place["latitude"], place["longitude"]) != (51.512345, -0.112345)
    assert abs(place["latitude"] - 51.512345) < 0.005
    for secret in ("Secret Lane", "RV2 9ZZ", "07700 900 123", "pat@home", "Pat Private"):
        assert secret not in text


def test_messy_fields_become_valid_hsds(client, app, register):
    services = {s["name"]: s for s in walk(client, "/services")}
    hall = get_json(client, f"{API}/services/{services['Riverside Hall']['id']}")
    assert hall["url"] == "https://www.riverside-hall.org.uk"
    assert hall["email"] == "bookings@riverside-hall.org.uk"
    assert hall["phones"][0]["number"] == "020 7946 0000"
    sal = hall["service_at_locations"][0]
    assert sal["location"]["addresses"][0]["postal_code"] == "RV1 1AA"
    assert sal["location"]["accessibility"][0]["description"] == "Ramp at the side door"
    assert sal["schedules"][0]["byday"] == "MO,TU,WE,TH,FR"
    assert (sal["schedules"][0]["opens_at"], sal["schedules"][0]["closes_at"]) == (
        "09:00", "17:00")
    assert hall["attributes"][0]["taxonomy_term"]["code"] == "physical"
    cafe = get_json(client, f"{API}/services/{services[CAFE]['id']}")
    assert cafe["url"] == "http://" + "exämple.org".encode("idna").decode() + "/a-path?x=%C3%BC"
    assert "email" not in cafe, "not an address: left out, not sent invalid"
    days = [(s["byday"], s["opens_at"]) for s in cafe["service_at_locations"][0]["schedules"]]
    assert days == [("MO,TU,WE,TH,FR", "09:00"), ("SA", "10:00")]
    club = get_json(client, f"{API}/services/{services['Unplaced club']['id']}")
    assert "url" not in club, "a javascript: address is not a web address"
    assert "latitude" not in club["service_at_locations"][0]["location"]
    raw = client.get(f"{API}/services/{services[CAFE]['id']}")
    assert b"<b>" not in raw.data, "markup characters are escaped in the JSON"


@pytest.mark.parametrize(("text", "rules"), [
    ("Mon-Fri 9am-5pm", [([0, 1, 2, 3, 4], "09:00", "17:00")]),
    ("Sat 10-12", [([5], "10:00", "12:00")]),
    ("Fri-Mon 6pm-11pm", [([4, 5, 6, 0], "18:00", "23:00")]),
    ("Mon, Wed & Fri: 10.30am - 1pm", [([0, 2, 4], "10:30", "13:00")]),
    ("Mon-Fri 9-5", [([0, 1, 2, 3, 4], "09:00", "17:00")]),
    ("Mon 10-2pm", [([0], "10:00", "14:00")]),
    ("Sat 1-5pm", [([5], "13:00", "17:00")]),
    ("Mo 00:00-24:00", [([0], "00:00", "24:00")]),
    ("Tue 24:00-24:30", []),
    ("Wed 13pm-14pm", []),
    ("Thu 17:00-09:00", []),
    ("Daily 9-5", []),
    ("By appointment", []),
    ("Mon 25:00-26:00", []),
])
def test_opening_hours_are_read_as_weekly_rules_or_kept_as_words(text, rules):
    assert hsds.weekly_rules(text) == rules


def test_the_demo_register_validates(client, app):
    with app.app_context():
        demo.seed(n_members=20, n_exchanges=20, n_assets=60, seed=7)
        db.session.commit()
    found = check_everything(client)
    assert len(found["/services"]) >= 40


# -- paging, filters, nonsense ---------------------------------------------------------


def test_paging_edges(client, app):
    many_assets(app, 7)
    body = get_json(client, f"{API}/services?per_page=3&page=3")
    check("/services", body)
    assert (body["total_items"], body["total_pages"], body["size"]) == (7, 3, 1)
    assert (body["first_page"], body["last_page"], body["empty"]) == (False, True, False)
    past = get_json(client, f"{API}/services?per_page=3&page=9")
    assert past["contents"] == [] and past["last_page"] and past["empty"], \
        "empty: this page (as Spring's Page, which HSDS's mirrors)"
    one = walk(client, "/services", per_page=1)
    assert len({s["id"] for s in one}) == 7, "no item twice, none missed"
    most = get_json(client, f"{API}/services?per_page=1000000")
    assert most["size"] == 7 and most["total_pages"] == 1
    first = get_json(client, f"{API}/services")
    assert first["first_page"] and first["page_number"] == 1


def test_an_empty_register_is_one_empty_page(client, app):
    body = get_json(client, f"{API}/services")
    check("/services", body)
    assert (body["total_items"], body["total_pages"], body["empty"], body["last_page"]) == (
        0, 0, True, True)


@pytest.mark.parametrize("query", [
    "page=abc", "page=0", "page=-1", "per_page=0", "per_page=1.5", "per_page=",
    "modified_after=yesterday", "modified_after=2026-13-40", "taxonomy_term_id=physical",
    "organization_id=1", "format=xml", "proximity=far&postcode=RV1+1AA", "proximity=500",
    "postcode=%3Cscript%3E", "search=%00",
])
def test_nonsense_parameters_get_400_in_json(client, app, query):
    body = get_json(client, f"{API}/services?{query}", status=400) \
        if query != "per_page=" else get_json(client, f"{API}/services?{query}")
    if query != "per_page=":
        assert body["message"] and "<" not in body["message"]


def test_modified_after(client, app):
    with app.app_context():
        for name, moment in (("Old", datetime(2025, 1, 1, 12)),
                             ("New", datetime(2026, 6, 1, 8, 30))):
            db.session.add(Asset(name=name, category_id=kind(), status="published",
                                 updated_at=moment, created_at=moment))
        db.session.commit()
        # The column moves itself on every change: put the stamps back as they were.
        db.session.execute(Asset.__table__.update().where(Asset.name == "Old")
                           .values(updated_at=datetime(2025, 1, 1, 12)))
        db.session.execute(Asset.__table__.update().where(Asset.name == "New")
                           .values(updated_at=datetime(2026, 6, 1, 8, 30)))
        cache.bump(cache.REGISTER)
        db.session.commit()

    def names(value: str) -> list[str]:
        body = get_json(client, f"{API}/services?modified_after={value}")
        check("/services", body)
        return [s["name"] for s in body["contents"]]

    assert names("2026-01-01") == ["New"]
    assert names("2026-06-01T08:30:00Z") == ["New"], "on or after"
    assert names("2026-06-01T09:30:01%2B01:00") == [], "an offset is honoured"
    assert names("2024-12-31T23:59:59Z") == ["New", "Old"]
    sals = get_json(client, f"{API}/service_at_locations?modified_after=2026-01-01")
    assert [s["service"]["name"] for s in sals["contents"]] == ["New"]
    new = get_json(client, f"{API}/services?search=New")["contents"][0]
    assert new["last_modified"] == "2026-06-01T08:30:00Z"


def test_search_kind_organisation_and_place_filters(client, app, register):
    services = {s["name"]: s for s in walk(client, "/services")}
    assert [s["name"] for s in get_json(client, f"{API}/services?search=hall")["contents"]] \
        == ["Riverside Hall"]
    assert get_json(client, f"{API}/services?search=%25")["total_items"] == 0, \
        "% is a character, not a wildcard"
    economy = hsds.term_id("economy")
    assert [s["name"] for s in get_json(
        client, f"{API}/services?taxonomy_term_id={economy}")["contents"]] == [
        CAFE]
    org = get_json(client, f"{API}/organizations")["contents"][0]["id"]
    run = get_json(client, f"{API}/services?organization_id={org}")["contents"]
    assert {s["name"] for s in run} == {"Riverside Hall", CAFE}
    assert get_json(client, f"{API}/services?organization_id={uuid.uuid4()}")["empty"]
    district = get_json(client, f"{API}/services?postcode=rv1%201zz")
    assert {s["name"] for s in district["contents"]} == set(services) - {
        "Pat's garden workshop", "Unplaced club"}
    near = get_json(client, f"{API}/service_at_locations?postcode=RV1+1AA&proximity=50")
    check("/service_at_locations", near)
    assert [s["service"]["name"] for s in near["contents"]] == [CAFE,
                                                                 "Riverside Hall"]
    wider = get_json(client, f"{API}/services?postcode=RV1+1AA&proximity=5000")
    assert wider["total_items"] == 3, "the home counts by its square; the unplaced not"


def test_unknown_ids_are_404_in_json(client, app, register):
    for path in ("services", "service_at_locations", "organizations", "taxonomies",
                 "taxonomy_terms"):
        for value in (str(uuid.uuid4()), "1", "<script>"):
            body = get_json(client, f"{API}/{path}/{value}", status=404)
            assert "message" in body
    with app.app_context():
        proposed = db.session.query(Asset).filter_by(status="proposed").one().uuid
    get_json(client, f"{API}/services/{proposed}", status=404)


def test_cors_and_conditional_answers(client, app, register):
    preflight = client.options(f"{API}/services", headers={
        "Origin": "https://validator.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    first = client.get(f"{API}/services", headers={"Origin": "https://validator.example"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in first.headers["Access-Control-Expose-Headers"]
    etag = first.headers["ETag"]
    again = client.get(f"{API}/services", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"{API}/services?per_page=1", headers={"If-None-Match": etag}) \
        .status_code == 200, "another question, another validator"
    with app.app_context():
        hall = db.session.query(Asset).filter_by(name="Riverside Hall").one()
        hall.description = "Now with a lift"
        db.session.commit()
    changed = client.get(f"{API}/services", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"Now with a lift" in changed.data
    assert client.post(f"{API}/services").status_code == 405
    lost = client.get(f"{API}/nothing-here")
    assert lost.status_code == 404 and lost.get_json()["message"]
    assert lost.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in first.headers


def test_root_and_openapi_document(client, app):
    root = get_json(client, f"{API}/")
    assert root["version"] == "3.0"
    document = get_json(client, root["openapi_url"].replace("http://localhost", ""))
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {"/services", "/services/{id}", "/organizations",
                                       "/taxonomies", "/taxonomy_terms",
                                       "/service_at_locations"}
    assert document["servers"][0]["url"].endswith("/api/hsds")
    assert "REQUIRED" not in json.dumps(document["info"])


# -- a city's register ----------------------------------------------------------------


def test_a_city_register_pages_in_a_few_queries(client, app):
    many_assets(app, 10_000)
    body = get_json(client, f"{API}/services?per_page=1000&page=10")
    check("/services", body)
    assert (body["total_items"], body["total_pages"], body["size"]) == (10_000, 10, 1000)
    assert len(client.get(f"{API}/services?per_page=1000").data) < 600_000
    small = count_queries(app, client, f"{API}/services?page=2")
    big = count_queries(app, client, f"{API}/services?per_page=1000&page=3")
    assert big <= small <= 6, "one count and one page, whatever the page's size"
    assert count_queries(app, client, f"{API}/services?per_page=1000&page=3") <= 2, \
        "asked again: the built answer (the register's version read, nothing else)"
    ids = [s["id"] for s in body["contents"]]
    assert len(set(ids)) == 1000 and all(uuid.UUID(i) for i in ids)
    sal = get_json(client, f"{API}/service_at_locations?per_page=100&page=7")
    check("/service_at_locations", sal)
    one = get_json(client, f"{API}/service_at_locations/{sal['contents'][0]['id']}")
    validator("service_at_location.json").validate(one)


# -- ids that stay ---------------------------------------------------------------------


def test_ids_stay_the_same_across_reimports(client, app):
    data = (b"id,name,category,address_1,city,postal_code,latitude,longitude\n"
            b"LIB-7,Library,institutions,3 High St,Riverside,RV1 1AA,51.5,-0.1\n")
    with app.app_context():
        files.import_file(data, "register.csv", sources.Options(), None)
        first = db.session.query(Asset).filter_by(source_id="LIB-7").one().uuid
        files.import_file(data.replace(b"Library", b"Town Library"), "register.csv",
                          sources.Options(), None)
        asset = db.session.query(Asset).filter_by(source_id="LIB-7").one()
        assert asset.uuid == first and asset.name == "Town Library"
    assert get_json(client, f"{API}/services/{first}")["name"] == "Town Library"
    assert first == open_data_id("asset", "LIB-7"), "derived from the source id"


def test_errors_are_in_the_askers_language(client, app):
    welsh = client.get(f"{API}/services?page=0", headers={"Accept-Language": "cy"})
    assert welsh.status_code == 400 and "rhif cyfan" in welsh.get_json()["message"]
    spanish = client.get(f"{API}/services/{uuid.uuid4()}", headers={"Accept-Language": "es"})
    assert spanish.status_code == 404 and "datos abiertos" in spanish.get_json()["message"]


def test_registers_nobody_here_wrote_become_valid_hsds(client, app):
    """The council and town registers in tests/fixtures (British National Grid, no
    names, swapped coordinates, a byte-order mark) imported as they come, then every
    answer checked; importing them again keeps every id."""
    registers = Path(__file__).parent / "fixtures" / "registers"
    flags = ("--category-map", str(registers / "council_asset_types.csv"))
    for name, extra in (("council_land_register.geojson", flags),
                        ("council_land_register_bng.csv", flags),
                        ("town_places_swapped.csv", ()), ("volunteer_list_bom.csv", ()),
                        ("council_assets_geox.csv", ()), ("council_sites_x_coord.csv", ())):
        result = app.test_cli_runner().invoke(
            args=["import-assets", str(registers / name), *extra])
        assert result.exit_code == 0, result.output
    found = check_everything(client)
    assert len(found["/services"]) >= 12
    ids = {s["id"] for s in found["/services"]}
    result = app.test_cli_runner().invoke(
        args=["import-assets", str(registers / "town_places_swapped.csv")])
    assert result.exit_code == 0
    assert {s["id"] for s in walk(client, "/services")} == ids


@pytest.mark.parametrize(("written", "sent"), [
    ("www.x.org", "https://www.x.org"),
    ("www.x.org/50%off", "https://www.x.org/50%25off"),
    ("https://www.x.org/100%", "https://www.x.org/100%25"),
    ("https://x.org/a%20b", "https://x.org/a%20b"),
    ("http://x.org:8080/p?q=ü#top", "http://x.org:8080/p?q=%C3%BC#top"),
    ("http://www.x.org\"", None), ("https://www.x.org</a>", None),
    ("http://x.org\\a\\b", None), ("http://x.org:80a/", None),
    ("http://user@pass@x.org", None), ("https://me:secret@x.org", None),
    ("mailto:info@x.org", None), ("javascript:alert(1)", None), ("x", None),
    ("http://[::1]/", None),
])
def test_web_addresses_are_sent_valid_or_not_at_all(written, sent):
    assert hsds.uri(written) == sent
    if sent is not None:
        assert CHECKER.conforms(sent, "uri")


def test_an_unencoded_plus_in_modified_after_is_read_as_an_offset(client, app):
    with app.app_context():
        db.session.add(Asset(name="New", category_id=kind(), status="published"))
        db.session.commit()
    # "+00:00" typed into a query string arrives as " 00:00".
    body = get_json(client, f"{API}/services?modified_after=2000-01-01T00:00:00+00:00")
    assert body["total_items"] == 1


def test_a_district_is_not_its_neighbours_and_organisations_ignore_punctuation(
        client, app):
    with app.app_context():
        for name, code, run_by in (("One", "RV1 1AA", "St Mary's"), ("Ten", "RV10 1AA",
                                                                      "St Mary’s"),
                                   ("Palace", "SW1A 1AA", "Age UK."),
                                   ("Pimlico", "SW1 1AA", "Age UK")):
            db.session.add(Asset(name=name, category_id=kind(), status="published",
                                 postal_code=code, run_by=run_by))
        db.session.commit()

    def names(code: str) -> set[str]:
        return {s["name"] for s in get_json(client, f"{API}/services?postcode={code}")[
            "contents"]}

    assert names("RV1+2BB") == {"One"} and names("RV10") == {"Ten"}
    assert names("SW1A+2AA") == {"Palace"} and names("SW1") == {"Pimlico"}
    orgs = get_json(client, f"{API}/organizations")["contents"]
    assert len(orgs) == 2, "one organisation per name, whatever the punctuation"


def test_slashes_and_methods_a_validator_may_send(client, app):
    assert client.get(f"{API}/services/").status_code == 200
    assert client.head(f"{API}/services").status_code == 200
    assert client.get(API).status_code in (200, 308)

"""A register that stays true: last checked and by whom, stale flags that move with the
clock, the named contact's confirm-or-correct link (through SMTP), members' "closed or
moved" reports, Assets of Community Value, the council's land list, homes kept private."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest

from tests.support import NOW, mail_config, submit
from timebank import jobs
from timebank.core.models import (
    Asset,
    AssetCategory,
    AssetChange,
    Bank,
    Notification,
    Role,
)
from timebank.core.models.base import utcnow
from timebank.infra import clock
from timebank.infra.extensions import db


@pytest.fixture
def app_config(smtp):
    return mail_config(smtp[1])


def add(app, name="Riverside Hall", **kw) -> int:
    with app.app_context():
        kind = db.session.query(AssetCategory).filter_by(slug="physical").one().id
        values = dict(address_1="1 High Street", city="Riverside", postal_code="RV1 1AA",
                      latitude=51.5010, longitude=-0.1000, confirmed_at=utcnow())
        values.update(kw)
        asset = Asset(name=name, category_id=kind, status="published", **values)
        db.session.add(asset)
        db.session.commit()
        return asset.id


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_stale_flags_move_with_the_clock_and_the_banks_setting(app, client, login_as):
    hall = add(app)
    coordinator = login_as(Role.COORDINATOR)
    assert "Not checked lately" not in page(client, f"/assets/{hall}")
    assert "Last checked on" in page(client, f"/assets/{hall}")
    clock.pin(NOW + timedelta(days=370))  # a year and a few days on
    shown = page(client, f"/assets/{hall}")
    assert "Not checked lately" in shown
    listed = page(client, "/assets")
    assert "Not checked since" in listed.split('id="asset-results"')[1]
    layer = json.loads(client.get("/assets/map.json").data)
    assert layer["features"][0]["properties"]["s"] == 1 and layer["stale_label"]
    queue = page(client, "/coordinator/assets")
    assert "Riverside Hall" in queue.split("Not checked for over 12 months")[1]
    # The bank checks every two years: nothing is stale yet.
    saved = submit(client, "/coordinator/bank", {"asset_check_months": "24"})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Bank).one().asset_check_months == 24
    assert "Not checked lately" not in page(client, f"/assets/{hall}")
    layer = json.loads(client.get("/assets/map.json").data)
    assert "s" not in layer["features"][0]["properties"]
    bad = submit(client, "/coordinator/bank", {"asset_check_months": "0"})
    assert bad.status_code == 422
    # A coordinator checks it: fresh again, and the page says who (not by name).
    submit(client, f"/coordinator/assets/{hall}/confirm", {}, page="/coordinator/assets")
    clock.pin(NOW + timedelta(days=370 + 400))
    with app.app_context():
        asset = db.session.get(Asset, hall)
        assert (asset.checked_how, asset.checked_by_id) == ("coordinator", coordinator)
    assert "by a coordinator" in page(client, f"/assets/{hall}")


def _link(smtp) -> str:
    """The confirm-or-correct link of the last e-mail, as the contact would follow it."""
    body = smtp[0].messages[-1].get_payload(decode=True).decode()
    return re.search(r"https?://[^\s]+(/assets/check/[^\s]+)", body).group(1)


def test_the_named_contact_confirms_or_corrects_through_an_emailed_link(
        app, client, login_as, smtp):
    hall = add(app, email="bookings@riverside-hall.example", opening_hours="Mon 9-5")
    nameless = add(app, name="No contact")
    login_as(Role.COORDINATOR)
    asked = submit(client, f"/coordinator/assets/{hall}/ask-contact", {},
                   page=f"/assets/{hall}")
    assert asked.status_code == 303
    refused = submit(client, f"/coordinator/assets/{nameless}/ask-contact", {},
                     page=f"/assets/{hall}", follow_redirects=True)
    assert "no contact e-mail address" in refused.get_data(as_text=True)
    with app.app_context():
        jobs.send_mail(app.config)
    message = smtp[0].messages[-1]
    assert message["To"] == "bookings@riverside-hall.example"
    link = _link(smtp)
    client.post("/logout")
    client.delete_cookie("session")
    # The contact, without an account, corrects the opening hours.
    shown = page(client, link)
    assert "Mon 9-5" in shown and "It is all right as it is" in shown
    sent = submit(client, link, {"name": "Riverside Hall", "opening_hours": "Tue 10-4",
                                 "email": "bookings@riverside-hall.example",
                                 "address_1": "1 High Street", "city": "Riverside",
                                 "postal_code": "RV1 1AA", "note": "We moved our day"})
    assert sent.status_code == 200 and "a coordinator will check" in sent.get_data(
        as_text=True)
    assert client.get(link).status_code == 410, "the link works once"
    with app.app_context():
        change = db.session.query(AssetChange).one()
        assert change.values == {"opening_hours": "Tue 10-4"}
        assert db.session.get(Asset, hall).opening_hours == "Mon 9-5", "not yet"
    # A coordinator approves it: applied, and checked by its contact.
    login_as(Role.COORDINATOR)
    queue = page(client, "/coordinator/assets")
    assert "Tue 10-4" in queue and "We moved our day" in queue
    clock.pin(NOW + timedelta(days=3))
    done = submit(client, f"/coordinator/assets/changes/{change.id}/apply", {},
                  page="/coordinator/assets")
    assert done.status_code == 303
    with app.app_context():
        asset = db.session.get(Asset, hall)
        assert asset.opening_hours == "Tue 10-4" and asset.checked_how == "contact"
        assert asset.confirmed_at.date() == (NOW + timedelta(days=3)).date()
        uuid = asset.uuid
    with app.app_context():
        jobs.send_mail(app.config)
    thanks = smtp[0].messages[-1]
    assert thanks["To"] == "bookings@riverside-hall.example"
    assert "now in the register" in thanks.get_payload(decode=True).decode()
    hsds = client.get(f"/api/hsds/services/{uuid}").get_json()
    assert hsds["assured_date"] == (NOW + timedelta(days=3)).date().isoformat()
    again = submit(client, f"/coordinator/assets/changes/{change.id}/dismiss", {},
                   page="/coordinator/assets", follow_redirects=True)
    assert "already decided" in again.get_data(as_text=True)
    # Asked again, the contact confirms as it is: checked at once.
    submit(client, f"/coordinator/assets/{hall}/ask-contact", {}, page=f"/assets/{hall}")
    with app.app_context():
        jobs.send_mail(app.config)
    link = _link(smtp)
    client.post("/logout")
    client.delete_cookie("session")
    clock.pin(NOW + timedelta(days=9))
    confirmed = submit(client, link, {"confirm": "1"})
    assert "confirmed as they are" in confirmed.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Asset, hall).confirmed_at.date() == (
            NOW + timedelta(days=9)).date()
    assert client.get(link.replace("check/", "check/x")).status_code == 410, "forged"


def test_a_member_reports_a_closure_and_is_told_what_was_done(app, client, login_as):
    hall = add(app)
    resident = login_as()
    bad = submit(client, f"/assets/{hall}/closed", {"what": "burnt"}, page=f"/assets/{hall}")
    assert bad.status_code == 422
    sent = submit(client, f"/assets/{hall}/closed", {"what": "closed", "note": "Boarded up"},
                  page=f"/assets/{hall}")
    assert sent.status_code == 303
    login_as(Role.COORDINATOR)
    queue = page(client, "/coordinator/assets")
    assert "a member says it has closed" in queue and "Boarded up" in queue
    with app.app_context():
        change = db.session.query(AssetChange).one().id
    submit(client, f"/coordinator/assets/changes/{change}/apply", {},
           page="/coordinator/assets")
    with app.app_context():
        assert db.session.get(Asset, hall).status == "archived"
        told = db.session.query(Notification).filter_by(member_id=resident).all()
        assert any("has closed" in n.text for n in told)
    assert "Riverside Hall" not in page(client, "/assets").split('id="asset-results"')[1]


def test_a_home_shows_its_area_only(app, client, login_as):
    home = add(app, name="Pat's workshop", at_home=True, address_1="7 Secret Lane",
               postal_code="RV2 9ZZ", latitude=51.512345, longitude=-0.112345,
               phone="07700 900123")
    shown = page(client, f"/assets/{home}")
    assert "7 Secret Lane" not in shown and "07700 900123" not in shown
    assert "At someone" in shown
    layer = json.loads(client.get("/assets/map.json").data)
    lon, lat = layer["features"][0]["geometry"]["coordinates"]
    assert (lat, lon) != (51.512345, -0.112345) and abs(lat - 51.512345) < 0.005
    exported = client.get("/assets.csv").get_data(as_text=True)
    assert "Secret Lane" not in exported and "07700" not in exported
    assert "51.512345" not in client.get("/assets.geojson").get_data(as_text=True)
    login_as(Role.COORDINATOR)
    assert "7 Secret Lane" in page(client, f"/assets/{home}"), "coordinators see it"


def test_council_land_and_assets_of_community_value(app, client, login_as):
    hall = add(app, name="Town Hall")
    add(app, name="Private Pub", council_owned=False)
    login_as(Role.COORDINATOR)
    form = page(client, f"/coordinator/assets/{hall}/edit")
    assert "UPRN" in form
    values = {"name": "Town Hall", "category": "", "address_1": "1 High Street",
              "city": "Riverside", "postal_code": "RV1 1AA", "latitude": "51.501",
              "longitude": "-0.1", "council_owned": "y", "uprn": "100023336956",
              "tenure": "freehold", "acv_listed_on": "2024-03-01", "publish": "1"}
    with app.app_context():
        values["category"] = str(db.session.get(Asset, hall).category_id)
    wrong = submit(client, f"/coordinator/assets/{hall}/edit",
                   {**values, "acv_expires_on": "2020-01-01"})
    assert wrong.status_code == 422
    saved = submit(client, f"/coordinator/assets/{hall}/edit", values)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    with app.app_context():
        asset = db.session.get(Asset, hall)
        assert asset.acv_expires_on == date(2029, 3, 1), "five years on"
    rows = list(csv.DictReader(io.StringIO(
        client.get("/assets/land-and-assets.csv").get_data(as_text=True))))
    assert [r["Asset Name"] for r in rows] == ["Town Hall"]
    assert rows[0]["UPRN"] == "100023336956" and rows[0]["Tenure Type"] == "Freehold"
    # Near Westminster: the National Grid puts it about 530 km east, 179 km north.
    assert 520_000 < int(rows[0]["Easting"]) < 540_000
    assert 170_000 < int(rows[0]["Northing"]) < 190_000
    listed = page(client, "/assets/community-value")
    assert "Town Hall" in listed and "Private Pub" not in listed
    acv = client.get("/assets/community-value.csv").get_data(as_text=True)
    assert "2029-03-01" in acv


def test_coordinators_are_reminded_once_before_a_listing_ends(app, client, make):
    coordinator = make.member(Role.COORDINATOR)
    hall = add(app, acv_listed_on=date(2021, 9, 1),
               acv_expires_on=NOW.date() + timedelta(days=120))
    with app.app_context():
        assert "0 Assets" in jobs._acv_reminders(app)
    clock.pin(NOW + timedelta(days=31))  # 89 days before it ends
    with app.app_context():
        assert "1 Assets" in jobs._acv_reminders(app)
        assert "0 Assets" in jobs._acv_reminders(app), "once per listing"
        told = db.session.query(Notification).filter_by(member_id=coordinator).all()
        assert len(told) == 1 and "Asset of Community Value" in told[0].text
        assert told[0].url.endswith(f"/assets/{hall}")


def test_a_home_cannot_be_found_by_shrinking_boxes_or_proposing_ideas(app, client, login_as):
    """Found in review: /assets.csv?bbox= chose assets by their own point, so ever
    smaller boxes found a home exactly; "Propose an idea here" carried it in hidden
    fields; the HSDS postcode filter matched a home's postcode letter by letter."""
    home = add(app, name="Pat's workshop", at_home=True, address_1="7 Secret Lane",
               postal_code="RV2 9ZZ", latitude=51.512345, longitude=-0.112345,
               run_by="Pat Private")
    tight = "-0.1124,51.5123,-0.1123,51.5124"  # around the home, not its square's centre
    for path in ("/assets.csv", "/assets.geojson"):
        assert "workshop" not in client.get(f"{path}?bbox={tight}").get_data(as_text=True)
        assert "workshop" in client.get(f"{path}?bbox=-0.2,51.4,0,51.6").get_data(
            as_text=True)
    assert "Pat Private" not in client.get("/assets.csv").get_data(as_text=True)
    assert "Pat Private" not in page(client, f"/assets/{home}")
    for code in ("RV29Z", "RV2", "RV2 9ZZ"):
        assert client.get(f"/api/hsds/services?postcode={code}").get_json()["empty"]
    assert client.get("/api/hsds/services?postcode=ZZ9+9ZZ&proximity=5000").get_json()[
        "empty"], "a postcode nobody here knows matches nothing (and asks no geocoder)"
    login_as()
    form = page(client, f"/ideas/new?asset={home}")
    assert "51.512345" not in form and "-0.112345" not in form


def test_one_question_written_many_ways_is_one_cached_answer(app, client):
    add(app)
    first = client.get("/api/hsds/services?page=1")
    for same in ("/api/hsds/services?page=01", "/api/hsds/services?page=1&junk=x",
                 "/api/hsds/services?page=%2B1&per_page=50"):
        assert client.get(same).headers["ETag"] == first.headers["ETag"], same


def test_an_erased_member_takes_their_home_off_the_map(app, client, make):
    from timebank.core.members import rights
    from timebank.core.models import Member

    pat = make.member()
    coordinator = make.member(Role.COORDINATOR)
    home = add(app, name="Pat's workshop", at_home=True, address_1="7 Secret Lane",
               submitted_by_id=pat)
    hall = add(app, submitted_by_id=pat)
    with app.app_context():
        db.session.add(AssetChange(asset_id=hall, kind="moved", member_id=pat,
                                   note="Pat saw it go"))
        member = db.session.get(Member, pat)
        member.erasure_requested_at = utcnow()
        db.session.commit()
        rights.erase(member, db.session.get(Member, coordinator))
        db.session.commit()
        gone = db.session.get(Asset, home)
        assert (gone.status, gone.address_1, gone.latitude) == ("archived", "", None)
        assert db.session.get(Asset, hall).status == "published"
        change = db.session.query(AssetChange).one()
        assert (change.member_id, change.note) == (None, "")

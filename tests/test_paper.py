"""Paper sheets for members without a computer: in their language, with the bank's contact."""

from __future__ import annotations

from datetime import timedelta

from tests.support import bank_of, get, login
from timebank.core.banks import create_bank
from timebank.core.models import Bank, Category, Listing, Role
from timebank.infra import clock
from timebank.infra.extensions import db


def _listing(member_id, title, lat, lon, kind="offer"):
    garden = db.session.query(Category).filter_by(slug="gardening").one().id
    db.session.add(Listing(bank_id=bank_of(member_id),
                           member_id=member_id, kind=kind, category_id=garden, title=title,
                           latitude=lat, longitude=lon,
                           expires_on=clock.today() + timedelta(days=30)))


def test_a_member_prints_their_timesheet_with_the_banks_contact(app, client, login_as):
    member = login_as(name="Tomos Timesheet")
    with app.app_context():
        bank = db.session.query(Bank).one()
        bank.phone, bank.opening_hours = "01234 555 666", "Tue 10-2"
        db.session.commit()
    html = client.get("/paper/timesheet").get_data(as_text=True)
    assert "Tomos Timesheet" in html and f"member number {member}" in html
    assert "01234 555 666" in html and "Tue 10-2" in html
    assert html.count('data-label="Date"') == 12  # twelve rows to write in
    assert clock.today().strftime("%Y") in html  # the print date


def test_a_coordinator_prints_a_members_sheets_in_the_members_language(app, client, make,
                                                                      login_as):
    member = make.member(name="Gwen Gymraeg")
    neighbour = make.member(name="Near Neighbour")
    with app.app_context():
        get(member).language = "cy"
        get(member).public_latitude, get(member).public_longitude = 51.5, -0.1
        _listing(member, "My own offer", 51.5, -0.1)
        _listing(neighbour, "Bread baking nearby", 51.501, -0.1)
        _listing(neighbour, "Far away help", 53.0, -2.0)
        db.session.commit()
    login_as(Role.COORDINATOR)
    sheet = client.get(f"/coordinator/members/{member}/timesheet",
                       headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<h1>Taflen amser</h1>" in sheet  # Welsh, the member's language
    # Their printed statement too (it followed the coordinator's page before).
    printed = client.get(f"/coordinator/members/{member}/statement/print",
                         headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "datganiad ar gyfer Gwen Gymraeg" in printed
    near = client.get(f"/coordinator/members/{member}/nearby").get_data(as_text=True)
    assert "Bread baking nearby" in near
    assert "Far away help" not in near and "My own offer" not in near


def test_sheets_are_only_for_oneself_or_for_members_of_ones_own_bank(app, client, make,
                                                                    login_as):
    other = make.member(name="Someone Else")
    login_as()
    assert client.get(f"/coordinator/members/{other}/timesheet").status_code == 404
    with app.app_context():
        create_bank("north", "North Bank")
        db.session.commit()
    stranger = make.member(name="North Stranger", bank="north")
    login_as(Role.COORDINATOR)
    assert client.get(f"/coordinator/members/{stranger}/timesheet").status_code == 404
    assert client.get(f"/coordinator/members/{stranger}/nearby").status_code == 404
    assert client.get(f"/coordinator/members/{other}/nearby").status_code == 200
    login(client, "nobody@example.org")

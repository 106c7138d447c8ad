"""Offers and requests: posting, editing rights, browsing and filters, the workbench."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.support import TODAY, bank_of, get, submit
from timebank.core.models import Category, Listing, Match, Role
from timebank.infra import clock
from timebank.infra.extensions import db


def cat_id(app, slug="gardening"):
    with app.app_context():
        return db.session.query(Category).filter_by(slug=slug).one().id


def listing_data(app, **kw):
    data = {"kind": "request", "category": str(cat_id(app)), "title": "Hedge trimming",
            "description": "My hedge is taller than me", "availability": ["0", "3"],
            "travel_km": "", "expires_on": (clock.today() + timedelta(days=30)).isoformat()}
    data.update(kw)
    return data


def post_listing(client, app, **kw):
    return submit(client, "/listings/new", listing_data(app, **kw))


def test_post_and_show_a_request(client, app, login_as):
    me = login_as()
    response = post_listing(client, app)
    assert response.status_code == 303
    with app.app_context():
        listing = db.session.query(Listing).one()
        assert (listing.member_id, listing.kind, listing.status) == (me, "request", "open")
        assert listing.availability == (1 << 0) | (1 << 3)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hedge trimming" in page and "Mon morning, Tue morning" in page


@pytest.mark.parametrize("field,value,message", [
    ("category", "99999", "Not a valid choice"),
    ("category", "0", "Choose one of the listed kinds"),
    ("expires_on", (TODAY - timedelta(days=1)).isoformat(), "already passed"),
    ("travel_km", "500", "Enter 0 to 50 km"),
    ("travel_km", "-1", "Enter 0 to 50 km"),
    ("kind", "bribe", "Not a valid choice"),
    ("title", "", "Give a short title"),
])
def test_bad_listing_input(client, app, login_as, field, value, message):
    login_as()
    response = post_listing(client, app, **{field: value})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "My hedge is taller than me" in body
    with app.app_context():
        assert db.session.query(Listing).count() == 0


def test_only_owner_or_staff_edits(client, app, make, login_as):
    owner = make.member(email="owner@example.org")
    with app.app_context():
        listing = Listing(bank_id=bank_of(owner),
                          member_id=owner, kind="offer", category_id=cat_id(app),
                          title="Dog walks", expires_on=clock.today() + timedelta(days=5))
        db.session.add(listing)
        db.session.commit()
        listing_id = listing.id
    login_as()
    assert client.get(f"/listings/{listing_id}/edit").status_code == 404
    response = submit(client, f"/listings/{listing_id}/edit",
                      listing_data(app, title="Stolen"), page=f"/listings/{listing_id}")
    assert response.status_code == 404  # as for a listing that is not there
    closing = submit(client, f"/listings/{listing_id}/close", {}, page="/listings")
    assert closing.status_code == 404
    with app.app_context():
        listing = db.session.get(Listing, listing_id)
        assert listing.title == "Dog walks" and listing.status == "open"


def test_coordinator_posts_on_behalf_and_edits_any(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    member = make.member(name="Offline Olive")
    response = post_listing(client, app, member=f"Offline Olive (#{member})", kind="offer")
    assert response.status_code == 303
    with app.app_context():
        listing = db.session.query(Listing).one()
        assert listing.member_id == member
    edit = submit(client, f"/listings/{listing.id}/edit", listing_data(app, title="Renamed"))
    assert edit.status_code == 303


def test_renew_and_close(client, app, login_as):
    login_as()
    location = post_listing(client, app, expires_on=clock.today().isoformat()).headers["Location"]
    listing_id = int(location.rsplit("/", 1)[1])
    submit(client, f"/listings/{listing_id}/renew", {}, page=location)
    with app.app_context():
        assert db.session.get(Listing, listing_id).expires_on == clock.today() + timedelta(days=56)
    submit(client, f"/listings/{listing_id}/close", {}, page=location)
    assert "Hedge trimming" not in client.get("/listings").get_data(as_text=True)


def _seed_listings(app, make, n, lat=51.5, lon=-0.1, kind="offer", slug="gardening",
                   title="Garden help"):
    member = make.member()
    with app.app_context():
        m = get(member)
        m.public_latitude, m.public_longitude = lat, lon
        for i in range(n):
            db.session.add(Listing(bank_id=bank_of(member),
                                   member_id=member, kind=kind, category_id=cat_id(app, slug),
                                   title=f"{title} {i}", latitude=lat, longitude=lon,
                                   expires_on=clock.today() + timedelta(days=10)))
        db.session.commit()
    return member


def test_browse_filters_plain_and_htmx(client, app, make, login_as):
    me = login_as()
    with app.app_context():
        m = get(me)
        m.public_latitude, m.public_longitude = 51.5, -0.1
        db.session.commit()
    _seed_listings(app, make, 2, title="Near hedge")
    _seed_listings(app, make, 1, lat=52.5, lon=-1.9, title="Far hedge")
    _seed_listings(app, make, 1, kind="request", slug="cooking", title="Soup")
    page = client.get("/listings?kind=offer&q=hedge&within_km=10").get_data(as_text=True)
    assert "Near hedge 0" in page and "Near hedge 1" in page
    assert "Far hedge" not in page and "Soup" not in page
    fragment = client.get(f"/listings?category={cat_id(app, 'cooking')}",
                          headers={"HX-Request": "true", "HX-Target": "results"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "Soup" in body and "hedge" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    bad = client.get("/listings?within_km=900")
    assert bad.status_code == 422 and "Enter 1 to 50 km" in bad.get_data(as_text=True)


def test_browse_paginates_by_keyset(client, app, make, login_as):
    login_as()
    _seed_listings(app, make, 25)
    first = client.get("/listings").get_data(as_text=True)
    assert first.count('class="card"') == 20

    before = re.search(r"before=(\d+)", first).group(1)
    second = client.get(f"/listings?before={before}").get_data(as_text=True)
    assert second.count('class="card"') == 5


def count_queries(app, client, url):
    with app.app_context():
        engine = db.engine
    seen = []

    def hook(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", hook)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(seen)


def test_listings_and_workbench_query_counts_do_not_grow(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    _seed_listings(app, make, 3)
    _seed_listings(app, make, 3, kind="request")
    small = (count_queries(app, client, "/listings"),
             count_queries(app, client, "/coordinator/matching"))
    for _ in range(4):
        _seed_listings(app, make, 6)
        _seed_listings(app, make, 4, kind="request", slug="diy")
    large = (count_queries(app, client, "/listings"),
             count_queries(app, client, "/coordinator/matching"))
    assert large == small, (small, large)


def test_workbench_introduce_accept_complete(client, app, make, login_as):
    from tests.support import login

    coordinator = login_as(Role.COORDINATOR)
    requester = make.member(name="Rita Requester", email="rita@example.org")
    helper = make.member(name="Hal Helper", email="hal@example.org")
    with app.app_context():
        db.session.add(Listing(bank_id=bank_of(helper),
                               member_id=helper, kind="offer", category_id=cat_id(app),
                               title="Hedge trimming and lawns",
                               expires_on=clock.today() + timedelta(days=9)))
        request = Listing(bank_id=bank_of(requester),
                          member_id=requester, kind="request", category_id=cat_id(app),
                          title="Hedge needs trimming",
                          expires_on=clock.today() + timedelta(days=9))
        db.session.add(request)
        db.session.commit()
        request_id = request.id
    bench = client.get("/coordinator/matching").get_data(as_text=True)
    assert "Hedge needs trimming" in bench and "Introduce Hal Helper" in bench
    assert "offers help of this kind" in bench and "mentions hedge" in bench
    response = submit(client, "/coordinator/matching/introduce",
                      {"request_id": str(request_id), "helper_id": str(helper), "note": ""},
                      page="/coordinator/matching")
    assert response.status_code == 303
    again = submit(client, "/coordinator/matching/introduce",
                   {"request_id": str(request_id), "helper_id": str(helper)},
                   page="/coordinator/matching")
    assert "already been introduced" in client.get(again.headers["Location"]).get_data(
        as_text=True)
    with app.app_context():
        match = db.session.query(Match).one()
        match_id = match.id
        assert match.created_by_id == coordinator and match.offer_id is not None
    # Rita hears of the introduction; Hal of it and of Rita's acceptance.
    for email, unread in (("rita@example.org", 1), ("hal@example.org", 2)):
        from tests.support import logout

        logout(client)
        login(client, email)
        nav = client.get("/").get_data(as_text=True)
        assert f'Notifications <span class="badge">{unread}<' in nav
        submit(client, f"/matches/{match_id}/accept", {}, page=f"/matches/{match_id}")
    with app.app_context():
        assert db.session.get(Match, match_id).status == "accepted"
        assert db.session.get(Listing, request_id).status == "matched"
    done = submit(client, f"/matches/{match_id}/complete", {}, page=f"/matches/{match_id}")
    assert done.status_code == 303
    prefilled = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f'value="Rita Requester (#{requester})"' in prefilled
    assert 'value="gave" checked' in prefilled or 'checked value="gave"' in prefilled \
        or ('value="gave"' in prefilled and "checked" in prefilled)
    assert "Hedge needs trimming" in prefilled


def test_outsiders_cannot_see_a_match_or_listing_rights(client, app, make, login_as):
    requester, helper = make.member(), make.member()
    coordinator = make.member(Role.COORDINATOR)
    _request_id, match_id = make.match(requester, helper, coordinator)
    login_as()
    assert client.get(f"/matches/{match_id}").status_code == 404
    assert submit(client, f"/matches/{match_id}/accept", {}, page="/").status_code == 404
    assert submit(client, f"/matches/{match_id}/messages", {"body": "hi"},
                  page="/").status_code == 404


def test_council_cannot_browse_listings(client, login_as):
    login_as(Role.COUNCIL)
    assert client.get("/listings").status_code == 403
    assert client.get("/coordinator/matching").status_code == 403


def test_admin_edits_both_taxonomies(client, app, login_as):
    from timebank.core.models import AssetCategory

    login_as(Role.ADMIN)
    response = submit(client, "/admin/categories", {"name": "Bike repair"})
    assert response.status_code == 303
    duplicate = submit(client, "/admin/categories", {"name": "Bike repair"})
    assert duplicate.status_code == 422 and "already" in duplicate.get_data(as_text=True)
    added = submit(client, "/admin/asset-categories", {"name": "Sports clubs",
                                                       "colour": "#123abc"})
    assert added.status_code == 303
    bad = submit(client, "/admin/asset-categories", {"name": "X", "colour": "red;}"})
    assert bad.status_code == 422 and "like #1a2b3c" in bad.get_data(as_text=True)
    with app.app_context():
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        sports = db.session.query(AssetCategory).filter_by(slug="sports-clubs").one()
        assert sports.colour == "#123abc"
    submit(client, f"/admin/categories/{garden}/retire", {}, page="/admin/categories")
    form = client.get("/listings/new").get_data(as_text=True)
    assert "Bike repair" in form and ">Gardening<" not in form
    assert "Sports clubs" in client.get("/assets").get_data(as_text=True)


def test_coordinator_cannot_edit_taxonomies(client, login_as):
    login_as(Role.COORDINATOR)
    assert client.get("/admin/categories").status_code == 403
    assert client.get("/admin/asset-categories").status_code == 403


def test_availability_in_words_follows_each_language_though_remembered(app):
    """describe_slots is remembered per mask and language: the same mask in another
    language is worded afresh, and the first language's words come back unchanged."""
    from flask_babel import force_locale

    from timebank.core.models.listings import describe_slots, slot_bit

    mask = slot_bit(0, 0) | slot_bit(0, 2) | slot_bit(6, 1)
    with app.test_request_context("/"):
        said = {}
        for lang in ["en", "cy", "es", "en"]:
            with force_locale(lang):
                said.setdefault(lang, describe_slots(mask))
                assert describe_slots(mask) == said[lang]
        assert said["en"] == "Mon morning/evening, Sun afternoon"
        assert said["cy"].startswith("Llun ") and said["es"].startswith("lun ")
        with force_locale("cy"):
            assert describe_slots(0) != describe_slots(mask)


def test_browse_filter_fields_drawn_once_show_each_answer_and_choice(client, app, login_as,
                                                                    make):
    """The filter fields are drawn once per what they show (the kinds of help as named
    now, the one chosen); words or a distance typed in, and errors, are drawn afresh,
    each as typed: the same distance asked without a place of one's own gets its error."""
    me = login_as()
    from tests.support import kind_choice_follows_renames

    with app.app_context():
        get(me).public_latitude, get(me).public_longitude = 51.48, -3.18
        db.session.commit()
    garden = kind_choice_follows_renames(client, app, "/listings", "/listings?kind=offer")
    words = client.get(f"/listings?q=hedge&category={garden}").get_data(as_text=True)
    assert 'value="hedge"' in words and 'value="ladder"' not in words
    assert 'value="ladder"' in client.get("/listings?q=ladder").get_data(as_text=True)
    for typed in ("5", "05"):  # the same distance, each shown as typed
        page = client.get(f"/listings?within_km={typed}")
        assert page.status_code == 200 and f'value="{typed}"' in page.get_data(as_text=True)
    wrong = client.get("/listings?within_km=500")
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.get_data(as_text=True)
    assert 'value="500"' in wrong.get_data(as_text=True)
    from tests.support import login, logout

    make.member(email="nowhere@example.org")
    logout(client)
    login(client, "nowhere@example.org")
    unplaced = client.get("/listings?within_km=5")
    assert unplaced.status_code == 422 and "Add your postcode" in unplaced.get_data(as_text=True)

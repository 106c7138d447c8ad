"""Nobody left quiet: the list a coordinator works through (requests that match what
each quiet member offered, near them), a suggestion in one click that reaches the member
in their language, notes of calls, the weekly nudge to those who chose it, and the
report of who came back."""

from __future__ import annotations

from datetime import timedelta

from tests.support import NOW, get, login, submit
from timebank.core import quiet
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Bank,
    Category,
    Listing,
    Membership,
    Notification,
    OutboxMessage,
    QuietContact,
    Role,
)
from timebank.infra import clock
from timebank.infra.extensions import db

HOME = (51.4800, -3.1800)  # a street in Cardiff
NEAR = (51.4850, -3.1750)  # under a kilometre away
FAR = (51.6000, -3.0000)  # some 17 km away


def _world(app, make):
    """Quinn joined 120 days ago, offered gardening once and has been quiet since; Nia
    is new. Around Quinn: a gardening request near, one far, and a DIY one near."""
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    quinn = make.member(name="Quinn Quiet", email="quinn@example.org")
    nia = make.member(name="Nia Newcomer", email="nia@example.org")
    asker = make.member(name="Ann Asker", email="ann@example.org")
    with app.app_context():
        bank_id = db.session.query(Bank).one().id
        kind = {c.slug: c.id for c in db.session.query(Category)}
        for member_id in (quinn, asker, cora):
            db.session.query(Membership).filter_by(member_id=member_id).one().created_at = (
                NOW - timedelta(days=120))
        member = get(quinn)
        member.public_latitude, member.public_longitude = HOME
        member.language = "cy"
        open_until = NOW.date() + timedelta(days=30)

        def listing(who, what, title, slug, where, expires=open_until):
            return Listing(member_id=who, bank_id=bank_id, kind=what, title=title,
                           description="", category_id=kind[slug], latitude=where[0],
                           longitude=where[1], expires_on=expires)

        db.session.add_all([  # Quinn's offer lapsed long ago: it still says what they do
            listing(quinn, "offer", "Beds weeded", "gardening", HOME,
                    expires=NOW.date() - timedelta(days=60)),
            listing(asker, "request", "Hedge needs a trim", "gardening", NEAR),
            listing(asker, "request", "Lawn in Newport", "gardening", FAR),
            listing(asker, "request", "Shelf to put up", "diy", NEAR)])
        db.session.commit()
        hedge = db.session.query(Listing).filter_by(title="Hedge needs a trim").one().id
    return cora, quinn, nia, asker, bank_id, hedge


def test_the_list_suggests_near_requests_in_what_they_offered(app, client, make):
    cora, quinn, nia, asker, bank_id, hedge = _world(app, make)
    login(client, "cora@example.org")
    page = client.get("/coordinator/quiet").get_data(as_text=True)
    assert "Quinn Quiet" in page and "Nia Newcomer" not in page  # new is not quiet
    assert "Hedge needs a trim" in page
    assert "Lawn in Newport" not in page and "Shelf to put up" not in page
    assert "Ann Asker" in page  # (Ann joined long ago and has not traded either)
    # The work queue links here.
    assert "/coordinator/quiet" in client.get("/").get_data(as_text=True)

    suggested = submit(client, f"/coordinator/quiet/{quinn}/suggest/{hedge}", {},
                       page="/coordinator/quiet")
    assert suggested.status_code == 303
    with app.app_context():
        [news] = db.session.query(Notification).filter_by(member_id=quinn).all()
        assert "Hedge needs a trim" in news.text and "Cora Coordinator" in news.text
        assert "Allech chi helpu?" in news.text  # in Welsh, Quinn's language
        mail = db.session.query(OutboxMessage).filter_by(member_id=quinn).one()
        assert "Hedge needs a trim" in mail.body
        assert db.session.query(QuietContact).filter_by(kind="suggestion").count() == 1
    # Not someone's own request, not a closed one, not a made-up one.
    own = submit(client, f"/coordinator/quiet/{asker}/suggest/{hedge}", {},
                 page="/coordinator/quiet")
    assert own.status_code == 409
    assert submit(client, f"/coordinator/quiet/{quinn}/suggest/999999", {},
                  page="/coordinator/quiet").status_code == 409

    empty = submit(client, f"/coordinator/quiet/{quinn}/call", {f"m{quinn}-note": " "},
                   page="/coordinator/quiet")
    assert empty.status_code == 422
    noted = submit(client, f"/coordinator/quiet/{quinn}/call",
                   {f"m{quinn}-note": "Rang: back from hospital, will look at the hedge"},
                   page="/coordinator/quiet")
    assert noted.status_code == 303
    page = client.get("/coordinator/quiet").get_data(as_text=True)
    assert "back from hospital" in page
    # Contacted ones go to the end: Ann, never contacted, comes before Quinn.
    assert page.index("Ann Asker</a></h2>") < page.index("Quinn Quiet</a></h2>")


def test_the_weekly_nudge_respects_choices_and_language(app, client, make):
    cora, quinn, nia, asker, bank_id, hedge = _world(app, make)
    with app.app_context(), app.test_request_context():
        get(quinn).email_preference = "immediately"
        db.session.commit()
        assert quiet.nudge(clock.utcnow()) == 0  # Quinn did not choose weekly news
        get(quinn).email_preference = "weekly"
        db.session.commit()
        assert quiet.nudge(clock.utcnow()) == 1
        [news] = db.session.query(Notification).filter_by(member_id=quinn).all()
        assert "Hedge needs a trim" in news.text and "Shelf" not in news.text
        assert news.text.startswith("Rydym wedi gweld eich eisiau!")  # in Welsh
        assert quiet.nudge(clock.utcnow()) == 0  # once a week
    clock.pin(NOW + timedelta(days=8))
    with app.app_context(), app.test_request_context():
        assert quiet.nudge(clock.utcnow()) == 1


def test_reports_count_quiet_members_who_came_back(app, client, make):
    cora, quinn, nia, asker, bank_id, hedge = _world(app, make)
    with app.app_context():
        quiet.note_call(quinn, get(cora), bank_id, "Left a message", clock.utcnow())
        assert quiet.came_back([bank_id], NOW - timedelta(days=1),
                               NOW + timedelta(days=30)) == 0
    clock.pin(NOW + timedelta(days=2))
    with app.app_context():
        ledger.record_exchange(giver=ledger.account_of(get(quinn)),
                               receiver=ledger.account_of(get(asker)), minutes=60,
                               service_date=clock.today(), recorded_by=get(quinn),
                               idempotency_key="back", confirm=False)
        db.session.commit()
        assert quiet.came_back([bank_id], NOW - timedelta(days=1),
                               NOW + timedelta(days=30)) == 1
        assert ledger.check_ledger() == []
    login(client, "cora@example.org")
    report = client.get("/coordinator/reports").get_data(as_text=True)
    assert "Quiet members contacted who then had an exchange" in report


def test_the_list_costs_one_query_per_member_shown(app, client, make):
    """What each offered and which kinds need checks are read once for the page: a quiet
    member adds only the look for requests near them."""
    from tests.support import count_queries

    cora, quinn, nia, asker, bank_id, hedge = _world(app, make)
    login(client, "cora@example.org")
    before = count_queries(app, client, "/coordinator/quiet")
    more = [make.member(name=f"Quiet {n}") for n in range(4)]
    with app.app_context():
        gardening = db.session.query(Category).filter_by(slug="gardening").one().id
        for member_id in more:
            db.session.query(Membership).filter_by(member_id=member_id).one().created_at = (
                NOW - timedelta(days=120))
            db.session.add(Listing(member_id=member_id, bank_id=bank_id, kind="offer",
                                   title="Digging", description="", category_id=gardening,
                                   expires_on=NOW.date() + timedelta(days=30)))
        db.session.commit()
    after = count_queries(app, client, "/coordinator/quiet")
    assert client.get("/coordinator/quiet").get_data(as_text=True).count("Quiet 3") >= 1
    assert after - before <= len(more), (before, after)

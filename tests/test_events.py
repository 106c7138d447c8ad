"""Events: posting, signing up to help or to come within the caps, cancelling, the
day-before reminder, who came (helpers credited from the pool once, however often the
form is sent, within the pool's floor), the calendar feeds; and safeguarding: kinds of
help that need checks, who has them, and what a member without one cannot do."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from tests.support import NOW, get, login, submit
from timebank.core import events
from timebank.core.ledger import writer as ledger
from timebank.core.models import (
    Account,
    Bank,
    Category,
    Event,
    EventSignup,
    Exchange,
    Listing,
    MemberCheck,
    Notification,
    Role,
)
from timebank.infra import clock
from timebank.infra.extensions import db

WHEN = (NOW + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)


def _post(client, **extra) -> int:
    data = {"title": "Riverside litter pick", "purpose": "Clearing the towpath",
            "starts_at": WHEN.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (WHEN + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "place": "The boathouse", "accessibility": "Flat path", "helpers_wanted": "2",
            "helper_minutes": "60", "places": "1", "category": "0", **extra}
    made = submit(client, "/events/new", data)
    assert made.status_code == 303, made.get_data(as_text=True)
    return int(made.headers["Location"].rstrip("/").split("/")[-1])


def _people(make, n):
    return [make.member(name=f"Neighbour {i}", email=f"n{i}@example.org") for i in range(n)]


def test_an_event_from_posting_to_paying_its_helpers_once(app, client, make):
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    people = _people(make, 5)
    login(client, "cora@example.org")
    event_id = _post(client)
    # Public: the list, the page and the calendar, without logging in.
    client.post("/logout")
    login(client, "nobody@example.org")
    listing = client.get("/events").get_data(as_text=True)
    assert "Riverside litter pick" in listing
    feed = client.get("/events.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    calendar = Calendar.from_ical(feed.data)
    [item] = [c for c in calendar.walk("VEVENT")]
    assert str(item["SUMMARY"]) == "Riverside litter pick"
    assert item.decoded("DTSTART") == WHEN and str(item["LOCATION"]) == "The boathouse"
    assert str(item["URL"]).endswith(f"/events/{event_id}")
    one = Calendar.from_ical(client.get(f"/events/{event_id}.ics").data)
    assert [str(c["SUMMARY"]) for c in one.walk("VEVENT")] == ["Riverside litter pick"]

    page = f"/events/{event_id}"
    answers = []
    for i, action in enumerate(("help", "help", "help", "come", "come")):
        login(client, f"n{i}@example.org")
        answers.append(submit(client, f"{page}/{action}", {}, page=page).status_code)
    # Two helpers wanted, one place: the third helper and the second guest are told.
    assert answers == [303, 303, 409, 303, 409]
    login(client, "n3@example.org")
    assert submit(client, f"{page}/leave", {}, page=page).status_code == 303
    login(client, "n4@example.org")
    assert submit(client, f"{page}/come", {}, page=page).status_code == 303
    with app.app_context():
        signed = {s.member_id: s.helping for s in db.session.query(EventSignup)}
        assert signed == {people[0]: True, people[1]: True, people[4]: False}

    # The day before, each is reminded, once.
    clock.pin(WHEN - timedelta(hours=20))
    with app.app_context(), app.test_request_context():
        assert events.remind(clock.utcnow()) == 3
        assert events.remind(clock.utcnow()) == 0
        told = {n.member_id for n in db.session.query(Notification)
                if "tomorrow" in n.text}
        assert told == {people[0], people[1], people[4]}

    # Afterwards: who came, sent twice, pays each helper who came once; the guest counts.
    clock.pin(WHEN + timedelta(hours=3))
    login(client, "cora@example.org")
    came = {"came": [str(people[0]), str(people[4])]}
    first = submit(client, f"{page}/attendance", came)
    assert first.status_code == 303
    again = submit(client, f"{page}/attendance", came)
    assert again.status_code == 303
    assert "already recorded" in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        balances = {a.member_id: a.balance for a in db.session.query(Account)
                    if a.member_id in people}
        assert balances[people[0]] == 60 and balances[people[1]] == 0
        assert balances[people[4]] == 0  # came, did not help: counted, not paid
        assert db.session.query(Exchange).count() == 1
        assert ledger.check_ledger() == []
        bank_id = db.session.query(Bank).one().id
        reach = events.reach([bank_id], NOW, NOW + timedelta(days=7))
        assert reach == {"events": 1, "people": 2, "newcomers": 2}
        assert get(cora)  # the coordinator's own account untouched
    report = client.get("/coordinator/reports").get_data(as_text=True)
    assert "People who came to events" in report


def test_the_pool_floor_holds_and_nothing_is_half_recorded(app, client, make):
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    people = _people(make, 2)
    with app.app_context():
        bank = db.session.query(Bank).one()
        bank.pool_floor = -90  # the pool may pay out an hour and a half in all
        db.session.commit()
    login(client, "cora@example.org")
    event_id = _post(client)
    for i in range(2):
        login(client, f"n{i}@example.org")
        submit(client, f"/events/{event_id}/help", {}, page=f"/events/{event_id}")
    clock.pin(WHEN + timedelta(hours=3))
    login(client, "cora@example.org")
    refused = submit(client, f"/events/{event_id}/attendance",
                     {"came": [str(p) for p in people]})
    assert refused.status_code == 422
    assert "community pool can pay out no more" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Exchange).count() == 0
        event = db.session.get(Event, event_id)
        assert event.attendance_at is None  # may be recorded again, once the limit moves
        assert ledger.check_ledger() == []
    came_one = submit(client, f"/events/{event_id}/attendance", {"came": [str(people[0])]})
    assert came_one.status_code == 303
    with app.app_context():
        assert db.session.query(Exchange).count() == 1


def test_bad_event_input_is_told_not_a_500(app, client, make):
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    login(client, "cora@example.org")
    backwards = submit(client, "/events/new", {
        "title": "Back to front", "starts_at": WHEN.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (WHEN - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "place": "Hall",
        "helpers_wanted": "2", "helper_minutes": "0", "category": "0"})
    assert backwards.status_code == 422
    assert "It must end after it starts." in backwards.get_data(as_text=True)
    nonsense = submit(client, "/events/new", {"title": "X", "starts_at": "²", "place": "H",
                                              "helpers_wanted": "-1", "helper_minutes": "x"})
    assert nonsense.status_code == 422
    with app.app_context():
        assert db.session.query(Event).count() == 0
    assert client.get("/events/999999").status_code == 404


def test_kinds_of_help_can_need_checks_and_only_the_checked_may_help(app, client, make):
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.ADMIN, name="Ada Admin", email="ada@example.org")
    asker = make.member(name="Rosa Resident", email="rosa@example.org")
    hal = make.member(name="Hal Helper", email="hal@example.org")
    with app.app_context():
        kind = db.session.query(Category).filter_by(slug="childcare").one().id
    login(client, "ada@example.org")
    admin_page = client.get("/admin/categories").get_data(as_text=True)
    assert "Safeguarding checks helpers need" in admin_page and "DBS check" in admin_page
    saved = submit(client, f"/admin/categories/{kind}/checks", {"checks": ["dbs"]},
                   page="/admin/categories")
    assert saved.status_code == 303
    odd = submit(client, f"/admin/categories/{kind}/checks", {"checks": ["tarot"]},
                 page="/admin/categories")
    assert odd.status_code == 400
    with app.app_context():
        request = Listing(member_id=asker, bank_id=db.session.query(Bank).one().id,
                          kind="request", title="School pick-up on Tuesdays",
                          description="", category_id=kind,
                          expires_on=NOW.date() + timedelta(days=30))
        offer = Listing(member_id=hal, bank_id=request.bank_id, kind="offer",
                        title="Play and school runs", description="", category_id=kind,
                        expires_on=NOW.date() + timedelta(days=30))
        db.session.add_all([request, offer])
        db.session.commit()
        request_id = request.id

    # Without a check: no button, but why and whom to ask; the answer itself refused.
    login(client, "hal@example.org")
    page = client.get(f"/listings/{request_id}").get_data(as_text=True)
    assert "needs a safeguarding check" in page and "Cora Coordinator" in page
    assert "I can help" not in page
    refused = submit(client, f"/listings/{request_id}/respond", {"message": "Me!"},
                     page=f"/listings/{request_id}")
    assert refused.status_code == 403 and "DBS check" in refused.get_data(as_text=True)
    # The workbench says why Hal is held back.
    login(client, "cora@example.org")
    bench = client.get("/coordinator/matching").get_data(as_text=True)
    assert "Held back: this kind of help needs DBS check, which Hal Helper" in bench
    assert "Introduce Hal Helper" not in bench
    # The coordinator records the check (never its contents), valid for 20 days.
    recorded = submit(client, f"/coordinator/members/{hal}/checks", {
        "kind": "dbs", "done_on": (NOW.date() - timedelta(days=10)).isoformat(),
        "expires_on": (NOW.date() + timedelta(days=20)).isoformat()},
        page=f"/coordinator/members/{hal}")
    assert recorded.status_code == 303
    queue = client.get("/").get_data(as_text=True)
    assert "Safeguarding checks ending within 30 days" in queue
    login(client, "hal@example.org")
    assert "Your safeguarding checks" in client.get("/profile").get_data(as_text=True)
    answered = submit(client, f"/listings/{request_id}/respond", {"message": "Me!"},
                      page=f"/listings/{request_id}")
    assert answered.status_code == 303
    # Three weeks on the check has ended: Hal is held back again, by the given clock.
    clock.pin(NOW + timedelta(days=21))
    with app.app_context():
        lacking = events.checks.missing_for([hal], kind, clock.today())
        assert lacking == {hal: ["dbs"]}
        another = Listing(member_id=asker, bank_id=db.session.query(Bank).one().id,
                          kind="request", title="Bath time on Fridays", description="",
                          category_id=kind, expires_on=NOW.date() + timedelta(days=60))
        db.session.add(another)
        db.session.commit()
        another_id = another.id
    page = client.get(f"/listings/{another_id}").get_data(as_text=True)
    assert "needs a safeguarding check" in page and "I can help" not in page
    lapsed = submit(client, f"/listings/{another_id}/respond", {"message": "Me!"},
                    page=f"/listings/{another_id}")
    assert lapsed.status_code == 403
    # Nobody else sees Hal's checks; his data has them, erasure takes them.
    login(client, "rosa@example.org")
    assert client.get(f"/coordinator/members/{hal}").status_code == 403
    login(client, "hal@example.org")
    data = client.get("/account/data.json").get_json()
    assert [c["kind"] for c in data["safeguarding_checks"]] == ["dbs"]
    with app.app_context():
        from timebank.core.members import rights

        member = get(hal)
        member.erasure_requested_at = clock.now()
        db.session.commit()
        rights.erase(member, get(cora))
        assert db.session.query(MemberCheck).count() == 0


def test_helpers_at_an_event_need_its_kind_of_help_checks(app, client, make):
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    _people(make, 1)
    with app.app_context():
        lifts = db.session.query(Category).filter_by(slug="lifts").one()
        events.checks.set_required(lifts.id, ["references"], get(cora))
        db.session.commit()
        kind = lifts.id
    login(client, "cora@example.org")
    event_id = _post(client, category=str(kind), title="Lifts to the lunch club")
    login(client, "n0@example.org")
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "needs References" in page and "Sign up to help" not in page
    refused = submit(client, f"/events/{event_id}/help", {}, page=f"/events/{event_id}")
    assert refused.status_code == 403
    came = submit(client, f"/events/{event_id}/come", {}, page=f"/events/{event_id}")
    assert came.status_code == 303  # coming needs no check


def test_a_coordinator_who_helped_is_credited_only_by_another(app, client, make):
    """Four eyes: a coordinator cannot pay themselves from the pool for their own event;
    a second coordinator records who came, and then they are paid."""
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    make.member(Role.COORDINATOR, name="Cody Coordinator", email="cody@example.org")
    login(client, "cora@example.org")
    event_id = _post(client)
    assert submit(client, f"/events/{event_id}/help", {},
                  page=f"/events/{event_id}").status_code == 303
    clock.pin(WHEN + timedelta(hours=3))
    alone = submit(client, f"/events/{event_id}/attendance", {"came": [str(cora)]})
    assert alone.status_code == 422
    assert "Another coordinator must record" in alone.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Exchange).count() == 0
        assert db.session.get(Event, event_id).attendance_at is None
    login(client, "cody@example.org")
    assert submit(client, f"/events/{event_id}/attendance",
                  {"came": [str(cora)]}).status_code == 303
    with app.app_context():
        assert db.session.query(Account).filter_by(member_id=cora).one().balance == 60
        assert ledger.check_ledger() == []


def test_newcomers_are_those_who_joined_lately_and_a_stopped_payment_resumes_once(
        app, client, make):
    """Reach counts an old hand once and not as a newcomer (the date arithmetic holds on
    both engines). A process stopped between claiming who came and paying: sending the
    form again pays, under the same key, once."""
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    new, old = _people(make, 2)
    with app.app_context():
        from timebank.core.models import Membership

        db.session.query(Membership).filter_by(member_id=old).one().created_at = (
            NOW - timedelta(days=400))
        db.session.commit()
    login(client, "cora@example.org")
    event_id = _post(client)
    for i in range(2):
        login(client, f"n{i}@example.org")
        submit(client, f"/events/{event_id}/help", {}, page=f"/events/{event_id}")
    clock.pin(WHEN + timedelta(hours=3))
    with app.app_context():  # claimed, as record_attendance does, then the process died
        event = db.session.get(Event, event_id)
        event.attendance_at, event.activity_key = clock.now(), f"event-{event_id}-stopped"
        for signup in db.session.query(EventSignup):
            signup.attended = True
        db.session.commit()
    login(client, "cora@example.org")
    for _ in range(2):
        assert submit(client, f"/events/{event_id}/attendance",
                      {"came": [str(new)]}).status_code == 303
    with app.app_context():
        assert db.session.query(Exchange).count() == 2  # both, as claimed; once
        assert ledger.check_ledger() == []
        bank_id = db.session.query(Bank).one().id
        assert events.reach([bank_id], NOW, NOW + timedelta(days=7)) == {
            "events": 1, "people": 2, "newcomers": 1}


def test_a_renewed_check_leaves_the_expiring_list(app, make):
    make.member(Role.COORDINATOR, name="Cora Coordinator")
    hal = make.member(name="Hal Helper")
    with app.app_context():
        bank_id = db.session.query(Bank).one().id
        today = clock.today()
        db.session.add(MemberCheck(member_id=hal, kind="dbs", bank_id=bank_id,
                                   done_on=today - timedelta(days=1000),
                                   expires_on=today + timedelta(days=10)))
        db.session.commit()
        ending = events.checks.expiring(bank_id, today)
        assert len(db.session.scalars(ending).all()) == 1
        db.session.add(MemberCheck(member_id=hal, kind="dbs", bank_id=bank_id,
                                   done_on=today, expires_on=today + timedelta(days=1095)))
        db.session.commit()
        assert db.session.scalars(events.checks.expiring(bank_id, today)).all() == []


def test_sign_up_at_the_door_and_record_from_the_day(app, client, make):
    """People sign up on the day, even once it has started, until who came is recorded;
    who came can be recorded from the event's day (the ledger takes no time given on a
    day still to come), not before; cancelling after the start is refused."""
    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    people = _people(make, 2)
    login(client, "cora@example.org")
    event_id = _post(client)
    early = submit(client, f"/events/{event_id}/attendance", {"came": [str(people[0])]})
    assert early.status_code == 422
    assert "from the day of the event" in early.get_data(as_text=True)
    clock.pin(WHEN + timedelta(minutes=30))  # it has started
    page = f"/events/{event_id}"
    for i in range(2):
        login(client, f"n{i}@example.org")
        assert "until who came is recorded" in client.get(page).get_data(as_text=True)
        assert submit(client, f"{page}/help", {}, page=page).status_code == 303
    assert submit(client, f"{page}/leave", {}, page=page).status_code == 409
    login(client, "cora@example.org")
    came = submit(client, f"{page}/attendance", {"came": [str(p) for p in people]})
    assert came.status_code == 303
    login(client, "n0@example.org")
    late = submit(client, f"{page}/come", {}, page=page)
    assert late.status_code == 409  # recorded: too late now
    with app.app_context():
        assert db.session.query(Exchange).count() == 2

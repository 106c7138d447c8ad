"""Co-design ideas (issue 16): merit as documented, one support each in the database,
who may answer, public pages without personal data, revisions kept, answers told."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

from tests.support import NOW, TODAY, get, login, submit
from timebank.core import ideas as service
from timebank.core.models import Idea, IdeaSupport, Notification, Role
from timebank.infra import clock
from timebank.infra.extensions import db


def _idea(app, proposer: int, title: str = "A bench by the pond", **kw) -> int:
    with app.app_context():
        idea = service.propose(get(proposer), {"title": title, "need": "Somewhere to sit",
                                               **kw})
        return idea.id


def test_merit_is_supporters_plus_rating_points_as_documented(app, make):
    """Three supporters; two ratings: (4, 4, 4) adds 3 points and (2, 1, 3) adds 1. The
    second idea has one supporter and one (1, 1, 1) rating, worth nothing."""
    people = [make.member(name=f"Neighbour {n}") for n in range(4)]
    coordinator = make.member(Role.COORDINATOR, name="Cora Coordinator")
    first, second = _idea(app, people[0]), _idea(app, coordinator, "A coordinator's idea")
    with app.app_context():
        idea, other = db.session.get(Idea, first), db.session.get(Idea, second)
        for n in range(3):
            assert service.support(idea, get(people[n]))
        service.rate(idea, get(people[1]), {"benefits": 4, "builds": 4, "together": 4})
        service.rate(idea, get(people[2]), {"benefits": 2, "builds": 1, "together": 3})
        service.support(other, get(coordinator))
        service.rate(other, get(people[3]), {"benefits": 1, "builds": 1, "together": 1})
        merit = service.merits([first, second])
        assert (merit[first].supporters, merit[first].ratings) == (3, 2)
        assert merit[first].rating_points == 4 and merit[first].score == 7
        assert merit[first].averages == {"benefits": 3.0, "builds": 2.5, "together": 3.5}
        assert merit[second].score == 1  # the coordinator's support counts one, like anyone's
        # Re-rating replaces the rating; it does not add a second one.
        service.rate(idea, get(people[2]), {"benefits": 4, "builds": 4, "together": 4})
        assert service.merits([first])[first].score == 9
        assert [i.id for i, _m in service.ranked()] == [first, second]


def test_one_support_each_even_when_two_requests_arrive_together(app, make):
    member = make.member(name="Quick Clicker")
    idea_id = _idea(app, make.member(name="Pat Proposer"))
    barrier = threading.Barrier(2)
    results = []

    def click():
        with app.app_context():
            idea, me = db.session.get(Idea, idea_id), get(member)
            barrier.wait()
            results.append(service.support(idea, me))
            db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]
    with app.app_context():
        assert db.session.query(IdeaSupport).filter_by(idea_id=idea_id).count() == 1


def test_only_coordinators_and_the_council_answer_and_everyone_concerned_is_told(
        app, client, make, login_as):
    proposer = make.member(name="Pat Proposer", email="pat@example.org")
    fan = make.member(name="Sam Supporter", email="sam@example.org")
    idea_id = _idea(app, proposer)
    with app.app_context():
        service.support(db.session.get(Idea, idea_id), get(fan))
    form = {"status": "planned", "answer": "We will build it in the spring."}
    login(client, "sam@example.org")
    refused = submit(client, f"/ideas/{idea_id}/answer", form, page=f"/ideas/{idea_id}")
    assert refused.status_code == 403
    login_as(Role.COUNCIL)
    done = submit(client, f"/ideas/{idea_id}/answer", form, page=f"/ideas/{idea_id}")
    assert done.status_code == 303
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        assert idea.status == "planned" and idea.answer == form["answer"]
        told = {n.member_id for n in db.session.query(Notification)
                if "Planned" in n.text and "spring" in n.text}
        assert told == {proposer, fan}
    # "Not now" needs its reason: an empty answer comes back with the message.
    login_as(Role.COORDINATOR)
    empty = submit(client, f"/ideas/{idea_id}/answer", {"status": "not_now", "answer": " "},
                   page=f"/ideas/{idea_id}")
    assert empty.status_code == 422 and "Write the answer people will read" in \
        empty.get_data(as_text=True)
    public = client.get("/ideas/answers").get_data(as_text=True)
    assert "A bench by the pond" in public and "We will build it in the spring." in public


def test_public_pages_show_no_names_unless_the_proposer_chose_to(app, client, make):
    shy = make.member(name="Shy Person")
    open_ = make.member(name="Open Person")
    hidden_id = _idea(app, shy, "A shy idea")
    shown_id = _idea(app, open_, "An open idea", show_name=True)
    with app.app_context():
        service.comment(db.session.get(Idea, shown_id), get(shy), "Lovely")
    for path in ("/ideas", "/ideas/answers", f"/ideas/{hidden_id}", f"/ideas/{shown_id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Shy Person" not in response.get_data(as_text=True), path
    assert "Open Person" in client.get(f"/ideas/{shown_id}").get_data(as_text=True)
    assert "A resident" in client.get(f"/ideas/{hidden_id}").get_data(as_text=True)


def test_revising_keeps_what_the_idea_said_before(app, client, make):
    proposer = make.member(name="Pat Proposer", email="pat@example.org")
    other = make.member(name="Olly Other", email="olly@example.org")
    idea_id = _idea(app, proposer)
    login(client, "olly@example.org")
    assert client.get(f"/ideas/{idea_id}/edit").status_code == 404
    login(client, "pat@example.org")
    changed = submit(client, f"/ideas/{idea_id}/edit",
                     {"title": "Two benches by the pond", "need": "Somewhere to sit and talk"})
    assert changed.status_code == 303
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Two benches by the pond" in page and "Version 1" in page
    assert "Somewhere to sit</p>" in page  # the earlier words, kept
    assert other


def test_propose_from_an_asset_and_from_a_coverage_gap(app, client, make):
    from tests.test_assets import add_asset

    make.member(name="Pat Proposer", email="pat@example.org")
    asset_id = add_asset(app, name="Old Hall")
    assert "/ideas/new?asset=" in client.get(f"/assets/{asset_id}").get_data(as_text=True)
    login(client, "pat@example.org")
    page = f"/ideas/new?asset={asset_id}"
    made = submit(client, "/ideas/new", {"title": "Open the hall on Sundays",
                                         "need": "Nowhere to meet at weekends",
                                         "asset_id": str(asset_id)}, page=page)
    assert made.status_code == 303
    idea_page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Old Hall" in idea_page
    gap = client.get("/ideas/new?cell=B4&lat=51.5&lon=-0.1").get_data(as_text=True)
    assert "For the coverage gap at B4." in gap
    bad = submit(client, "/ideas/new", {"title": "", "need": "x"})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)


def test_session_attendance_credits_each_attendee_once_from_the_pool(app, client, make):
    """A co-design session is an event of a kind: three sign up, two come, one group
    activity, each of the two credited 90 minutes once (sending the form twice changes
    nothing), the pool debited 180, ledger sound."""

    from timebank.core.ledger import writer as ledger
    from timebank.core.models import Account, AccountKind, Event, EventKind, Exchange

    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    people = [make.member(name=f"Neighbour {n}", email=f"n{n}@example.org") for n in range(3)]
    idea_id = _idea(app, people[0])
    login(client, "cora@example.org")
    made = submit(client, f"/ideas/{idea_id}/sessions/new", {
        "title": "Designing the pond bench", "starts_at": f"{TODAY + timedelta(days=2)}T18:30",
        "place": "Community hall", "accessibility": "Step-free; hearing loop",
        "seats": "2", "minutes": "90"})
    assert made.status_code == 303
    with app.app_context():
        session = db.session.query(Event).one()
        session_id = session.id
        assert session.kind == EventKind.CODESIGN and session.helpers_wanted == 2
    assert client.get(f"/ideas/sessions/{session_id}").headers["Location"].endswith(
        f"/events/{session_id}")  # old links still lead there
    for n in range(3):
        login(client, f"n{n}@example.org")
        last = submit(client, f"/events/{session_id}/help", {}, page=f"/events/{session_id}")
    assert last.status_code == 409  # two places: the third is told
    assert "Sorry, every helper" in last.get_data(as_text=True)
    clock.pin(NOW + timedelta(days=3))  # the session has taken place
    login(client, "cora@example.org")
    data = {"came": [str(people[0]), str(people[1])]}
    first = submit(client, f"/events/{session_id}/attendance", data,
                   page=f"/events/{session_id}/attendance")
    assert first.status_code == 303
    with app.app_context():
        credited = {a.member_id: a.balance for a in db.session.query(Account)
                    if a.member_id in people}
        assert credited == {people[0]: 90, people[1]: 90, people[2]: 0}
        pool = db.session.query(Account).filter_by(kind=AccountKind.SYSTEM).one()
        assert pool.balance == -180
        assert db.session.query(Exchange).count() == 2
        assert ledger.check_ledger() == []
    again = submit(client, f"/events/{session_id}/attendance", data,
                   page=f"/events/{session_id}/attendance")
    assert again.status_code == 303
    assert "already recorded" in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Exchange).count() == 2


def test_participation_ladder_counts_each_member_once_on_their_highest_rung(app, client,
                                                                             make):
    """Ann came to a session (and proposed: still counted once, as co-producing); Bob
    commented; Cat supported; Dan reviewed an asset; Eve and the coordinator did none."""
    from datetime import timedelta

    from tests.test_assets import add_asset
    from timebank.core import participation
    from timebank.core.models import AssetReview, Bank, EventSignup

    ann, bob, cat, dan = (make.member(name=n) for n in ("Ann", "Bob", "Cat", "Dan"))
    make.member(name="Eve")
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    idea_id = _idea(app, ann)
    asset_id = add_asset(app)
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        service.comment(idea, get(bob), "Yes please")
        service.support(idea, get(cat))
        db.session.add(AssetReview(asset_id=asset_id, member_id=dan, still_there=True,
                                   welcoming=3, accessible="yes"))
        bank_id = db.session.query(Bank).one().id
        meeting = service.schedule(get(cora), bank_id, [idea_id], {
            "title": "Bench", "place": "Hall", "helpers_wanted": 5, "helper_minutes": 60,
            "starts_at": clock.now() - timedelta(days=1), "accessibility": ""})
        db.session.add(EventSignup(event_id=meeting.id, member_id=ann, helping=True,
                                   attended=True))
        db.session.commit()
        week = (clock.now() - timedelta(days=7), clock.now() + timedelta(days=1))
        assert participation.ladder([bank_id], *week) == {
            "co_producing": 1, "involved": 1, "consulted": 2, "informed": 2}
        assert participation.what_they_did(ann)["proposed"] == 1
        assert participation.what_they_did(ann)["attended"] == 1
    login(client, "cora@example.org")
    page = client.get(f"/coordinator/members/{ann}").get_data(as_text=True)
    assert "How they take part" in page and "Co-design sessions attended" in page
    report = client.get("/coordinator/reports").get_data(as_text=True)
    assert "Taking part: active members on each rung of the ladder" in report


def test_a_planned_idea_lists_roles_and_volunteering_posts_a_linked_offer(app, client, make):
    from timebank.core.models import Category, IdeaRole, Listing

    make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    vol = make.member(name="Val Volunteer", email="val@example.org")
    idea_id = _idea(app, make.member(name="Pat Proposer"))
    with app.app_context():
        diy = db.session.query(Category).filter_by(slug="diy").one().id
    login(client, "cora@example.org")
    role = {"title": "Build the bench", "category": str(diy), "people": "2"}
    early = submit(client, f"/ideas/{idea_id}/roles", role, page=f"/ideas/{idea_id}")
    assert early.status_code == 422  # only once the idea is planned
    submit(client, f"/ideas/{idea_id}/answer", {"status": "planned", "answer": "Yes!"},
           page=f"/ideas/{idea_id}")
    assert submit(client, f"/ideas/{idea_id}/roles", role,
                  page=f"/ideas/{idea_id}").status_code == 303
    with app.app_context():
        role_id = db.session.query(IdeaRole).one().id
    login(client, "val@example.org")
    done = submit(client, f"/ideas/roles/{role_id}/volunteer", {}, page=f"/ideas/{idea_id}")
    assert done.status_code == 303 and "/listings/" in done.headers["Location"]
    again = submit(client, f"/ideas/roles/{role_id}/volunteer", {}, page=f"/ideas/{idea_id}")
    assert again.status_code == 303
    with app.app_context():
        offers = db.session.query(Listing).filter_by(idea_role_id=role_id).all()
        assert [(o.member_id, o.kind, o.category_id) for o in offers] == [(vol, "offer", diy)]
        from timebank.core import participation

        assert participation.what_they_did(vol)["volunteered"] == 1
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "1 of 2 volunteers" in page and "You have offered to do this." in page


def test_answered_ideas_with_a_place_are_on_the_map_escaped(app, client, make, login_as):
    evil = '<img src=x onerror=alert(1)>"</script>'
    idea_id = _idea(app, make.member(name="Pat Proposer"), evil, latitude=51.5,
                    longitude=-0.1)
    _idea(app, make.member(name="Nia Nowhere"), "No place at all")
    login_as(Role.COUNCIL)
    submit(client, f"/ideas/{idea_id}/answer", {"status": "discussing", "answer": "Talking"},
           page=f"/ideas/{idea_id}")
    page = client.get("/ideas/answers").get_data(as_text=True)
    assert 'class="folium-map' in page and "bindPopup" in page
    assert "<img src=x" not in page and "</script>\"" not in page
    assert "&amp;lt;img src=x" in page or "\\u0026lt;img" in page or "&lt;img src=x" in page


def test_review_findings_ranking_seats_digits_and_erasure(app, client, make):
    """From an adversarial read: an old idea with more merit still ranks first among 200
    newer ones; two members racing for the last seat get one seat between them; a
    superscript digit in a form is a 4xx, not a 500; erasing a member takes their words
    off ideas and comments."""

    from timebank.core import events
    from timebank.core.members import rights
    from timebank.core.models import Bank, EventSignup, IdeaComment

    fans = [make.member(name=f"Fan {n}") for n in range(2)]
    pat = make.member(name="Pat Proposer", email="pat@example.org")
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    old = _idea(app, pat, "I live at 3 Mill Lane: a bench please")
    with app.app_context():
        for fan in fans:
            service.support(db.session.get(Idea, old), get(fan))
        for n in range(200):
            db.session.add(Idea(title=f"Newer {n}", need="x", proposer_id=cora))
        db.session.commit()
        assert service.ranked()[0][0].id == old
        meeting = service.schedule(get(cora), db.session.query(Bank).one().id, [old], {
            "title": "Bench", "place": "Hall", "helpers_wanted": 1, "helper_minutes": 60,
            "starts_at": NOW.replace(hour=18, minute=30) + timedelta(days=14), "accessibility": ""})
        meeting_id = meeting.id
        service.comment(db.session.get(Idea, old), get(pat), "Call me on 0123")
    barrier = threading.Barrier(2)

    def take_seat(member_id):
        with app.app_context():
            found = db.session.get(type(meeting), meeting_id)
            barrier.wait()
            with contextlib.suppress(events.EventRefused):  # the one who missed out
                events.sign_up(found, get(member_id), True, clock.utcnow())
            db.session.remove()

    threads = [threading.Thread(target=take_seat, args=(fan,)) for fan in fans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with app.app_context():
        assert db.session.query(EventSignup).filter_by(event_id=meeting_id).count() == 1
    login(client, "cora@example.org")
    clock.pin(NOW + timedelta(days=15))
    odd = submit(client, f"/events/{meeting_id}/attendance", {"came": "²"})
    assert odd.status_code == 422
    login(client, "pat@example.org")
    proposed = submit(client, "/ideas/new", {"title": "T", "need": "N", "asset_id": "²"})
    assert proposed.status_code == 303
    with app.app_context():
        member = get(pat)
        member.erasure_requested_at = clock.now()
        db.session.commit()
        rights.erase(member, get(cora))
        idea = db.session.get(Idea, old)
        assert "Mill Lane" not in idea.title and idea.need != "Somewhere to sit"
        assert {c.body for c in db.session.query(IdeaComment)} == {rights.ERASED_TEXT}

"""Registering, approval, logging in and out, role checks."""

from __future__ import annotations

import pytest

from tests.support import PASSWORD, build_app, get, login, submit
from timebank.extensions import db
from timebank.models import AuditEvent, Member, MemberStatus, Role
from timebank.tenancy import current_bank_id

GOOD = {
    "email": "  New.Person@Example.ORG ",
    "display_name": "New Person",
    "neighbourhood": "Riverside",
    "password": "a-long-password",
    "confirm": "a-long-password",
    "accept": "y",
}


def test_register_makes_a_pending_member_with_casefolded_email(client, app):
    response = submit(client, "/register", GOOD)
    assert response.status_code == 302
    with app.app_context():
        member = db.session.query(Member).one()
        assert member.email == "new.person@example.org"
        assert member.status == MemberStatus.PENDING
        # A resident of the bank once approved; until then no role there.
        membership = member.membership_in(current_bank_id())
        assert (membership.role, membership.status) == (Role.RESIDENT, MemberStatus.PENDING)
        assert member.role is None
        assert member.password_hash != GOOD["password"]
        assert member.check_password(GOOD["password"])


def test_register_answers_a_known_address_as_an_unknown_one(client, app, make):
    """No address can be found out by trying to register it (issue 12): the same answer,
    no second member, and the address's owner is told by e-mail."""
    from timebank.models import OutboxMessage

    make.member(email="new.person@example.org")
    known = submit(client, "/register", {**GOOD, "email": "NEW.PERSON@example.org"})
    fresh = submit(client, "/register", {**GOOD, "email": "someone.new@example.org"})
    assert known.status_code == fresh.status_code == 302
    assert known.headers["Location"] == fresh.headers["Location"]
    assert client.get("/").get_data(as_text=True).count("Thank you for joining") == 1
    with app.app_context():
        emails = [m.email for m in db.session.query(Member)]
        assert emails.count("new.person@example.org") == 1
        assert "someone.new@example.org" in emails
        told = db.session.query(OutboxMessage).filter_by(to_email="new.person@example.org")
        assert "Someone tried to join" in told.one().subject


@pytest.mark.parametrize("field,value,message", [
    ("password", "short", "at least 10 characters"),
    ("confirm", "something-else", "do not match"),
    ("email", "not-an-email", "Enter an email address"),
    ("display_name", "", "required"),
])
def test_register_errors_keep_the_text(client, app, field, value, message):
    data = {**GOOD, field: value}
    if field == "password":
        data["confirm"] = value
    response = submit(client, "/register", data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "Riverside" in body  # what the person typed is still there
    with app.app_context():
        assert db.session.query(Member).count() == 0


def test_pending_member_cannot_log_in(client, make):
    make.member(status=MemberStatus.PENDING, email="wait@example.org")
    response = login(client, "wait@example.org")
    assert response.status_code == 422
    assert "waiting for a coordinator" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302


def test_suspended_member_cannot_log_in_and_is_logged_out(client, make, app):
    member_id = make.member(email="s@example.org")
    assert login(client, "s@example.org").status_code == 302
    assert client.get("/profile").status_code == 200
    with app.app_context():
        get(member_id).status = MemberStatus.SUSPENDED
        db.session.commit()
    assert client.get("/profile").status_code == 302  # sent to log in again
    response = login(client, "s@example.org")
    assert "suspended" in response.get_data(as_text=True)


def test_wrong_password(client, make):
    make.member(email="a@example.org")
    response = login(client, "a@example.org", "wrong-password!")
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)


def test_login_email_is_case_insensitive_and_next_is_followed(client, make):
    make.member(email="c@example.org")
    html = client.get("/login?next=/statement").get_data(as_text=True)
    from tests.support import hidden_fields

    response = client.post("/login?next=/statement",
                           data={**hidden_fields(html), "email": "C@Example.org",
                                 "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/statement"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_no_open_redirect_after_login(client, make, target):
    make.member(email="r@example.org")
    html = client.get("/login").get_data(as_text=True)
    from tests.support import hidden_fields

    response = client.post("/login", query_string={"next": target},
                           data={**hidden_fields(html), "email": "r@example.org",
                                 "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_needs_post_with_csrf(client, login_as):
    login_as()
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/profile").status_code == 200
    response = submit(client, "/logout", {}, page="/profile")
    assert response.status_code == 302
    assert client.get("/profile").status_code == 302


@pytest.mark.parametrize("url", ["/coordinator/members", "/coordinator/exchanges/new",
                                 "/coordinator/activities/new", "/coordinator/exchanges"])
def test_resident_gets_403_on_coordinator_pages(client, login_as, url):
    login_as(Role.RESIDENT)
    assert client.get(url).status_code == 403


def test_council_cannot_trade(client, login_as):
    login_as(Role.COUNCIL)
    assert client.get("/exchanges/new").status_code == 403
    assert client.get("/coordinator/members").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/coordinator/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    hx = client.get("/statement", headers={"HX-Request": "true"})
    assert hx.status_code == 401 and hx.headers["HX-Redirect"].startswith("/login")


def test_login_is_rate_limited(db_url, make, app):

    limited = build_app(db_url,
                        RATELIMIT_ENABLED=True, TIMEBANK_LOGIN_RATE="3 per minute")
    client = limited.test_client()
    responses = [login(client, "x@example.org", "wrong-password!") for _ in range(5)]
    assert [r.status_code for r in responses] == [422, 422, 422, 429, 429]
    assert "Too many attempts" in responses[-1].get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only POSTs count
    with limited.app_context():
        db.engine.dispose()


def test_register_is_audited(client, app):
    submit(client, "/register", GOOD)
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="member.register").count() == 1

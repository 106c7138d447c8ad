"""Registering, approval, logging in and out, role checks."""

from __future__ import annotations

import re

import pytest

from tests.support import (
    PASSWORD,
    build_app,
    get,
    login,
    logout,
    mail_config,
    mail_to,
    submit,
)
from timebank.core.models import AuditEvent, Member, MemberStatus, Role
from timebank.infra.extensions import db
from timebank.web.tenancy import current_bank_id

GOOD = {
    "email": "  New.Person@Example.ORG ",
    "display_name": "New Person",
    "neighbourhood": "Riverside",
    "password": "a-long-password",
    "confirm": "a-long-password",
    "accept": "y",
}


def test_passwords_are_hashed_at_full_cost_and_a_cheaper_hash_still_opens(
        app, tmp_path, make, client, monkeypatch):
    """Outside the tests a password hash costs werkzeug's full scrypt; the tests' cheaper
    setting (thousands of hashes) never reaches a deployment, and a hash made at one
    cost still opens after the setting changes (a check reads the stored method)."""
    from timebank.infra import config, passwords

    monkeypatch.setenv("TIMEBANK_SECRET_KEY", "a-deployment-secret-" + "x" * 20)
    assert config.load(str(tmp_path))["TIMEBANK_PASSWORD_HASH"] == passwords.STRONG
    assert passwords.STRONG == "scrypt:32768:8:1"
    assert app.config["TIMEBANK_PASSWORD_HASH"] == "scrypt:1024:8:1"
    who = make.member(email="cheap@example.org")
    with app.app_context():
        stored = db.session.get(Member, who).password_hash
        assert stored.startswith("scrypt:1024:8:1$")
        app.config["TIMEBANK_PASSWORD_HASH"] = passwords.STRONG
        assert passwords.make("x").startswith("scrypt:32768:8:1$")
    login(client, "cheap@example.org")
    assert 'action="/logout"' in client.get("/profile").get_data(as_text=True)


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
        assert member.role_in(current_bank_id()) is None
        assert member.password_hash != GOOD["password"]
        assert member.check_password(GOOD["password"])


def test_register_answers_a_known_address_as_an_unknown_one(client, app, make):
    """No address can be found out by trying to register it (issue 12): the same answer,
    no second member, and the address's owner is told by e-mail."""
    from timebank.core.models import OutboxMessage

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
    # Under htmx, no redirect of the whole page (it would throw away what was typed): a
    # message errors.js shows, with a link to log in in another tab.
    hx = client.get("/statement", headers={"HX-Request": "true"})
    assert hx.status_code == 401 and "HX-Redirect" not in hx.headers
    assert hx.headers["X-Timebank-Error"] == "login"
    body = hx.get_data(as_text=True)
    assert "the session ended" in body and 'href="/login"' in body and "<html" not in body


def test_successful_log_ins_do_not_count_towards_the_limit(db_url, make, app):
    """A drop-in's shared computer: many neighbours log in one after another from one
    address. Only failed attempts count, so the fourth neighbour is not turned away."""
    people = [make.member(email=f"drop{n}@example.org") for n in range(5)]
    limited = build_app(db_url, RATELIMIT_ENABLED=True, TIMEBANK_LOGIN_RATE="3 per minute")
    client = limited.test_client()
    for n in range(len(people)):
        assert login(client, f"drop{n}@example.org").status_code == 302
        submit(client, "/logout", {}, page="/profile")
    failed = [login(client, "drop0@example.org", "wrong-password!") for _ in range(4)]
    assert [r.status_code for r in failed] == [422, 422, 422, 429]
    with limited.app_context():
        db.engine.dispose()
    # One address's own limit counts every attempt, successful or not: counted only after
    # a failure, a burst of parallel guesses would pass before any was counted.
    per_email = build_app(db_url, RATELIMIT_ENABLED=True,
                          TIMEBANK_LOGIN_RATE_PER_EMAIL="3 per minute")
    other = per_email.test_client()
    answers = []
    for _ in range(4):
        answers.append(login(other, "drop1@example.org").status_code)
        if answers[-1] == 302:
            submit(other, "/logout", {}, page="/profile")
    assert answers == [302, 302, 302, 429]
    with per_email.app_context():
        db.engine.dispose()


def test_login_is_rate_limited(db_url, make, app):

    limited = build_app(db_url,
                        RATELIMIT_ENABLED=True, TIMEBANK_LOGIN_RATE="3 per minute")
    client = limited.test_client()
    responses = [login(client, "x@example.org", "wrong-password!") for _ in range(5)]
    assert [r.status_code for r in responses] == [422, 422, 422, 429, 429]
    said = responses[-1].get_data(as_text=True)
    # When to try again, in words; never the limiter's own "3 per 1 minute".
    assert "Please try again in 1 minute." in said and "per 1 minute" not in said
    assert client.get("/login").status_code == 200  # only POSTs count
    with limited.app_context():
        db.engine.dispose()


def test_register_is_audited(client, app):
    submit(client, "/register", GOOD)
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="member.register").count() == 1


# -- account recovery and changes (issue 12) ----------------------------------------------


@pytest.fixture
def app_config(smtp):
    return mail_config(smtp[1])  # every e-mail here goes through a real SMTP server


def _links(app, smtp, to: str) -> list[str]:
    """Site paths of the links e-mailed to ``to``, oldest first."""
    return [path for _subject, body in mail_to(app, smtp, to)
            for path in re.findall(r"https?://[^/\s]+(/\S+)", body)
            if "/password/reset/" in path or "/confirm/" in path]


def _forgot(client, email: str):
    return submit(client, "/password/forgot", {"email": email})


def test_reset_by_link_through_smtp_then_the_link_dies(app, client, make, smtp):
    """Must-hold 2: log-in page → forgot → e-mail via SMTP after send-mail → new password;
    the old password stops working and the link dies after use."""
    inbox, _port = smtp
    make.member(email="forgetful@example.org")
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    assert _forgot(client, "Forgetful@Example.org").status_code == 303
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert [e.rcpt_tos for e in inbox.envelopes] == [["forgetful@example.org"]]
    body = inbox.messages[0].get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/password/reset/\S+)", body).group(1)
    assert client.get(link).status_code == 200
    new = {"password": "a-brand-new-secret", "confirm": "a-brand-new-secret"}
    response = submit(client, link, new)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert login(client, "forgetful@example.org").status_code == 422  # the old one
    assert login(client, "forgetful@example.org", "a-brand-new-secret").status_code == 302
    assert "Your password was changed" in [s for s, _b in mail_to(app, smtp,
                                                               "forgetful@example.org")]
    logout(client)
    used = client.get(link)
    assert used.status_code == 410 and "no longer works" in used.get_data(as_text=True)
    assert client.post(link, data=new).status_code in (400, 410)


def test_forgot_answers_a_known_and_an_unknown_address_alike(app, client, make, smtp):
    make.member(email="known@example.org")
    known = _forgot(client, "known@example.org")
    unknown = _forgot(client, "unknown@example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert _links(app, smtp, "known@example.org") and not _links(app, smtp, "unknown@example.org")


def test_forgot_does_the_same_work_for_a_known_and_an_unknown_address(app, client, make):
    """Issue 28, point 8: known addresses were answered about 2 ms later (the link was
    made and queued in the request). Now the page writes one request row either way, and
    the mail job answers it: the same statements, in the same order, for both."""
    from sqlalchemy import event

    make.member(email="known@example.org")
    client.get("/password/forgot")

    def statements(email: str) -> list[str]:
        seen: list[str] = []

        def note(_conn, _cursor, statement, *_args):
            seen.append(statement)

        with app.app_context():
            from timebank.infra.extensions import db

            event.listen(db.engine, "before_cursor_execute", note)
            try:
                assert _forgot(client, email).status_code == 303
            finally:
                event.remove(db.engine, "before_cursor_execute", note)
        return seen

    known = statements("known@example.org")
    assert any("reset_request" in s for s in known)
    assert known == statements("unknown@example.org")


def test_many_requests_for_one_address_get_one_answer(app, client, make, smtp):
    """Review, round two: a flood of requests for one address must not hold up everyone
    else's: the mail job answers each address once, however often it was asked."""
    from timebank.core import auth as service
    from timebank.core.models import ResetRequest

    make.member(email="flooded@example.org")
    make.member(email="patient@example.org")
    with app.app_context():
        for _n in range(30):
            service.request_reset("flooded@example.org")
        service.request_reset("patient@example.org")
        assert service.answer_reset_requests(limit=2) == 2
        assert db.session.query(ResetRequest).count() == 0
    assert len(_links(app, smtp, "flooded@example.org")) == 1
    assert len(_links(app, smtp, "patient@example.org")) == 1


def test_an_expired_reset_link_is_refused(app, client, make, smtp):
    make.member(email="late@example.org")
    _forgot(client, "late@example.org")
    link = _links(app, smtp, "late@example.org")[0]
    app.config["TIMEBANK_RESET_MAX_AGE"] = -1  # every link is older than that
    response = client.get(link)
    assert response.status_code == 410
    app.config["TIMEBANK_RESET_MAX_AGE"] = 3600
    assert client.get(link).status_code == 200


def test_a_reset_link_dies_once_the_password_changes(app, client, make, smtp):
    make.member(email="changer@example.org")
    _forgot(client, "changer@example.org")
    link = _links(app, smtp, "changer@example.org")[0]
    login(client, "changer@example.org")
    response = submit(client, "/account/password", {
        "current": PASSWORD, "password": "another-long-secret",
        "confirm": "another-long-secret"})
    assert response.status_code == 303
    logout(client)
    assert client.get(link).status_code == 410
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.get(forged).status_code == 410


def test_changing_password_ends_every_other_session(app, make, smtp):
    make.member(email="two@example.org")
    here, there = app.test_client(), app.test_client()
    login(here, "two@example.org")
    login(there, "two@example.org")
    wrong = submit(here, "/account/password", {
        "current": "not-my-password", "password": "fresh-long-secret",
        "confirm": "fresh-long-secret"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(
        as_text=True)
    assert there.get("/profile").status_code == 200
    response = submit(here, "/account/password", {
        "current": PASSWORD, "password": "fresh-long-secret", "confirm": "fresh-long-secret"})
    assert response.status_code == 303
    assert here.get("/profile").status_code == 200  # this browser stays in
    assert there.get("/profile").status_code == 302  # the other one is out
    told = mail_to(app, smtp, "two@example.org")
    assert [subject for subject, _body in told] == ["Your password was changed"]
    logout(here)
    assert login(here, "two@example.org", "fresh-long-secret").status_code == 302


def test_common_and_address_like_passwords_are_refused(client, app):
    for weak in ("1234567890", "qwertyuiop", "password123", "new.person-1"):
        response = submit(client, "/register", {**GOOD, "password": weak, "confirm": weak})
        assert response.status_code == 422, weak
        assert "too easy to guess" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Member).count() == 0


def test_changing_email_waits_for_the_new_address(app, client, make, smtp):
    member_id = make.member(email="old@example.org")
    login(client, "old@example.org")
    response = submit(client, "/account/email", {"email": "New@Example.org",
                                                  "password": PASSWORD})
    assert response.status_code == 303
    with app.app_context():
        assert get(member_id).email == "old@example.org"  # nothing changes yet
    link = _links(app, smtp, "new@example.org")[0]
    assert "Confirm my address" in client.get(link).get_data(as_text=True)
    assert submit(client, link, {}).status_code == 303
    with app.app_context():
        assert get(member_id).email == "new@example.org"
    told = mail_to(app, smtp, "old@example.org")
    assert any("was changed" in subject for subject, _body in told)
    assert client.get(link).status_code == 410  # bound to the old address: used up
    logout(client)
    assert login(client, "new@example.org").status_code == 302


def test_changing_email_to_a_taken_address_reveals_nothing(app, client, make, smtp):
    make.member(email="taken@example.org")
    member_id = make.member(email="mover@example.org")
    login(client, "mover@example.org")
    taken = submit(client, "/account/email", {"email": "taken@example.org",
                                              "password": PASSWORD})
    free = submit(client, "/account/email", {"email": "free@example.org",
                                             "password": PASSWORD})
    assert taken.status_code == free.status_code == 303
    assert taken.headers["Location"] == free.headers["Location"]
    assert not _links(app, smtp, "taken@example.org")  # its owner is told, with no link
    assert [s for s, _b in mail_to(app, smtp, "taken@example.org")] == [
        "Someone tried to use your e-mail address"]
    with app.app_context():
        assert get(member_id).email == "mover@example.org"


def test_an_application_reaches_coordinators_once_the_address_is_confirmed(app, make, smtp):
    make.member(Role.COORDINATOR, email="coord@example.org")
    newcomer, coordinator = app.test_client(), app.test_client()
    assert submit(newcomer, "/register", GOOD).status_code == 302
    with app.app_context():
        member = db.session.query(Member).filter_by(email="new.person@example.org").one()
        member_id = member.id
        from timebank.core.models import Membership

        assert db.session.query(Membership).filter_by(
            member_id=member_id).one().terms_accepted_at is not None
    login(coordinator, "coord@example.org")
    assert "New Person" not in coordinator.get("/coordinator/members").get_data(as_text=True)
    refused = submit(coordinator, f"/coordinator/members/{member_id}/approve", {},
                     page="/coordinator/members")
    with app.app_context():
        assert get(member_id).status == MemberStatus.PENDING, refused.status_code
    response = login(newcomer, "new.person@example.org", GOOD["password"])
    assert "confirm your e-mail address" in response.get_data(as_text=True)
    link = _links(app, smtp, "new.person@example.org")[0]
    assert submit(newcomer, link, {}).status_code == 303
    assert "New Person" in coordinator.get("/coordinator/members").get_data(as_text=True)
    assert "New Person from Riverside asks to join" in coordinator.get(
        "/notifications").get_data(as_text=True)
    submit(coordinator, f"/coordinator/members/{member_id}/approve", {},
           page="/coordinator/members")
    assert login(newcomer, "new.person@example.org", GOOD["password"]).status_code == 302


def test_registration_needs_the_terms_accepted(client, app):
    response = submit(client, "/register", {k: v for k, v in GOOD.items() if k != "accept"})
    assert response.status_code == 422
    assert "accept the terms" in response.get_data(as_text=True)
    terms = client.get("/terms").get_data(as_text=True)
    assert "Terms of membership" in terms and "nobody only gives" in terms
    with app.app_context():
        from timebank.core.models import Bank

        db.session.query(Bank).one().privacy_text = "We keep <little>."
        db.session.commit()
    assert "We keep &lt;little&gt;." in client.get("/privacy").get_data(as_text=True)


def test_an_idle_session_ends(app, client, make):
    app.config["TIMEBANK_IDLE_MINUTES"] = 30
    make.member(email="idle@example.org")
    login(client, "idle@example.org")
    assert client.get("/profile").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= 29 * 60
    assert client.get("/profile").status_code == 200  # still awake, and now renewed
    with client.session_transaction() as session:
        session["seen"] -= 31 * 60
    response = client.get("/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "without using the site" in client.get("/login").get_data(as_text=True)


def test_strangers_failing_to_log_in_cannot_lock_a_member_out(db_url, make, app):
    """Issue 12: 20 wrong passwords for one address from 20 clients made the right password
    get 429 for an hour. The per-address limit now counts per (address, client)."""
    limited = build_app(db_url, RATELIMIT_ENABLED=True, TIMEBANK_LOGIN_RATE="100 per minute",
                        TIMEBANK_LOGIN_RATE_PER_EMAIL="3 per hour")
    make.member(email="target@example.org")
    attacker = limited.test_client()
    for n in range(6):
        attacker.environ_base["REMOTE_ADDR"] = f"10.0.0.{n % 2 + 1}"
        login(attacker, "target@example.org", "wrong-password!")
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    assert login(attacker, "target@example.org", "wrong-password!").status_code == 429
    owner = limited.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert login(owner, "target@example.org").status_code == 302
    with limited.app_context():
        db.engine.dispose()


# -- found by an independent review of the account flows ---------------------------------


def _ask_email_change(client, new: str):
    return submit(client, "/account/email", {"email": new, "password": PASSWORD})


def test_an_earlier_address_change_link_dies_when_another_is_asked_for(app, client, make,
                                                                        smtp):
    """A typo'd first request, then the right one: the typo's link must not move the
    account to a stranger's mailbox."""
    member_id = make.member(email="owner@example.org")
    login(client, "owner@example.org")
    _ask_email_change(client, "owner@exmaple.org")
    _ask_email_change(client, "owner@example.net")
    typo = _links(app, smtp, "owner@exmaple.org")[0]
    assert client.get(typo).status_code == 410
    assert submit(client, typo, {}).status_code in (400, 410)
    with app.app_context():
        assert get(member_id).email == "owner@example.org"
    assert any("change of your e-mail address was asked for" in subject
               for subject, _body in mail_to(app, smtp, "owner@example.org"))
    right = _links(app, smtp, "owner@example.net")[0]
    assert submit(client, right, {}).status_code == 303


def test_a_used_address_link_stays_dead_after_changing_back(app, client, make, smtp):
    member_id = make.member(email="a@example.org")
    login(client, "a@example.org")
    _ask_email_change(client, "b@example.org")
    first = _links(app, smtp, "b@example.org")[0]
    assert submit(client, first, {}).status_code == 303
    _ask_email_change(client, "a@example.org")
    back = _links(app, smtp, "a@example.org")[-1]
    assert submit(client, back, {}).status_code == 303
    assert client.get(first).status_code == 410
    with app.app_context():
        assert get(member_id).email == "a@example.org"


def test_a_reset_link_sent_to_an_old_address_dies_with_the_change(app, client, make, smtp):
    make.member(email="moving@example.org")
    _forgot(client, "moving@example.org")
    reset = _links(app, smtp, "moving@example.org")[0]
    login(client, "moving@example.org")
    _ask_email_change(client, "safe@example.org")
    assert submit(client, _links(app, smtp, "safe@example.org")[0], {}).status_code == 303
    logout(client)
    assert client.get(reset).status_code == 410


def test_guessing_the_current_password_from_an_open_session_is_limited(db_url, make, app):
    limited = build_app(db_url, RATELIMIT_ENABLED=True, TIMEBANK_ACCOUNT_RATE="5 per hour")
    make.member(email="open@example.org")
    client = limited.test_client()
    assert login(client, "open@example.org").status_code == 302
    statuses = [submit(client, url, {"current": "guess-number-one", "password": "guess",
                                     "email": "x@example.org", "confirm": "x"}).status_code
                for url in ["/account/password", "/account/email", "/account/data"] * 3]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}, statuses
    with limited.app_context():
        db.engine.dispose()


def test_one_ipv6_household_counts_as_one_client(db_url, make, app):
    limited = build_app(db_url, RATELIMIT_ENABLED=True, TIMEBANK_LOGIN_RATE="100 per minute",
                        TIMEBANK_LOGIN_RATE_PER_EMAIL="3 per hour")
    make.member(email="v6@example.org")
    client = limited.test_client()
    statuses = []
    for n in range(5):
        client.environ_base["REMOTE_ADDR"] = f"2001:db8:1:2::{n + 1:x}"
        statuses.append(login(client, "v6@example.org", "wrong-password!").status_code)
    assert statuses == [422, 422, 422, 429, 429]
    client.environ_base["REMOTE_ADDR"] = "2001:db8:9:9::1"  # another household
    assert login(client, "v6@example.org").status_code == 302
    with limited.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("weak", ["Password123!", "welcome2024", "aaaaaaaaaa", "timebank123",
                                  "0123456789", "passwordpassword"])
def test_guessable_passwords_are_refused(client, app, weak):
    response = submit(client, "/register", {**GOOD, "password": weak, "confirm": weak})
    assert response.status_code == 422 and "too easy to guess" in response.get_data(
        as_text=True)


def test_a_new_password_may_not_be_built_from_ones_own_name(app, client, make, smtp):
    make.member(email="jane.smith@example.org", name="Jane Smith")
    _forgot(client, "jane.smith@example.org")
    link = _links(app, smtp, "jane.smith@example.org")[0]
    response = submit(client, link, {"password": "jane.smith1", "confirm": "jane.smith1"})
    assert response.status_code == 422 and "too easy to guess" in response.get_data(
        as_text=True)

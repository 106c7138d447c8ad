"""Coordinators approve, suspend and reactivate; members keep their profile; admins set roles."""

from __future__ import annotations

import subprocess
import sys

from tests.support import get, submit
from timebank import ledger
from timebank.extensions import db
from timebank.models import AuditEvent, Member, MemberStatus, Role


def test_coordinator_approves_and_account_opens(client, login_as, make, app):
    coordinator = login_as(Role.COORDINATOR)
    pending = make.member(status=MemberStatus.PENDING, account=False, name="Pat Pending")
    page = client.get("/coordinator/members").get_data(as_text=True)
    assert "Pat Pending" in page and "Approve Pat Pending" in page
    response = submit(client, f"/coordinator/members/{pending}/approve", {},
                      page="/coordinator/members")
    assert response.status_code == 303
    with app.app_context():
        member = get(pending)
        assert member.status == MemberStatus.ACTIVE
        assert member.approved_by_id == coordinator
        account = ledger.account_of(member)
        assert account.balance == 0 and account.floor == -600
        assert db.session.query(AuditEvent).filter_by(action="member.approve",
                                                      object_id=pending).count() == 1


def test_suspend_and_reactivate(client, login_as, make, app):
    login_as(Role.COORDINATOR)
    member_id = make.member()
    submit(client, f"/coordinator/members/{member_id}/suspend", {}, page="/coordinator/members")
    with app.app_context():
        assert get(member_id).status == MemberStatus.SUSPENDED
    # Approving someone already active/suspended is refused politely.
    submit(client, f"/coordinator/members/{member_id}/approve", {}, page="/coordinator/members")
    with app.app_context():
        assert get(member_id).status == MemberStatus.SUSPENDED
    submit(client, f"/coordinator/members/{member_id}/reactivate", {},
           page="/coordinator/members")
    with app.app_context():
        assert get(member_id).status == MemberStatus.ACTIVE


def test_status_change_without_csrf_changes_nothing(client, login_as, make, app):
    login_as(Role.COORDINATOR)
    member_id = make.member(status=MemberStatus.PENDING)
    assert client.post(f"/coordinator/members/{member_id}/approve").status_code == 400
    with app.app_context():
        assert get(member_id).status == MemberStatus.PENDING


def test_resident_cannot_approve(client, login_as, make, app):
    login_as(Role.RESIDENT)
    member_id = make.member(status=MemberStatus.PENDING)
    response = submit(client, f"/coordinator/members/{member_id}/approve", {}, page="/profile")
    assert response.status_code == 403
    with app.app_context():
        assert get(member_id).status == MemberStatus.PENDING


def test_profile_edit(client, login_as, app):
    member_id = login_as()
    response = submit(client, "/profile", {"display_name": "Rosa R", "neighbourhood": "Hill",
                                           "skills": "Baking & <b>bread</b>",
                                           "availability": "Sat", "bio": "", "phone": ""})
    assert response.status_code == 302
    with app.app_context():
        assert get(member_id).skills == "Baking & <b>bread</b>"
    page = client.get("/profile").get_data(as_text=True)
    assert "Baking &amp; &lt;b&gt;bread&lt;/b&gt;" in page


def test_admin_sets_role_but_coordinator_cannot(client, login_as, make, app):
    login_as(Role.ADMIN)
    member_id = make.member()
    page = f"/coordinator/members/{member_id}"
    response = submit(client, f"/admin/members/{member_id}/role", {"role": "coordinator"},
                      page=page)
    assert response.status_code == 303
    bad = submit(client, f"/admin/members/{member_id}/role", {"role": "emperor"}, page=page)
    assert bad.status_code == 400
    with app.app_context():
        assert get(member_id).role == Role.COORDINATOR


def test_coordinator_cannot_use_admin_role_route(client, login_as, make):
    login_as(Role.COORDINATOR)
    member_id = make.member()
    response = submit(client, f"/admin/members/{member_id}/role", {"role": "admin"},
                      page="/profile")
    assert response.status_code == 403


def test_member_search_never_shows_email_and_skips_inactive(client, login_as, make):
    login_as()
    make.member(name="Alice Active", email="alice@example.org")
    make.member(name="Alan Pending", status=MemberStatus.PENDING)
    html = client.get("/members/search?other=Al").get_data(as_text=True)
    assert "Alice Active (#" in html
    assert "Alan Pending" not in html
    assert "alice@example.org" not in html


def test_create_user_cli_reads_password_from_stdin(app, db_kind, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {"TIMEBANK_DATABASE_URL": url, "TIMEBANK_SECRET_KEY": "k" * 40, "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "flask", "--app", "timebank", "create-user",
           "--email", "Boss@Example.org", "--role", "admin"]
    done = subprocess.run(cmd, input="a-secret-password\n", capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    short = subprocess.run(cmd[:-4] + ["--email", "x@example.org", "--role", "admin"],
                           input="short\n", capture_output=True, text=True, env=env, timeout=120)
    assert short.returncode != 0 and "at least 10" in short.stderr
    with app.app_context():
        boss = db.session.query(Member).filter_by(email="boss@example.org").one()
        assert boss.role == Role.ADMIN and boss.status == MemberStatus.ACTIVE
        assert boss.check_password("a-secret-password")
        assert db.session.query(Member).filter_by(email="x@example.org").count() == 0


def test_residents_cannot_search_by_email_but_staff_can(client, make, login_as):
    make.member(name="Zed", email="secret.address@example.org")
    login_as()
    assert "Zed" not in client.get("/members/search?q=secret.a").get_data(as_text=True)
    assert "Zed" in client.get("/members/search?q=Ze").get_data(as_text=True)
    login_as(Role.COORDINATOR)
    assert "Zed" in client.get("/members/search?q=secret.a").get_data(as_text=True)


def test_unknown_and_suspended_members_get_the_same_answer(client, app, make, login_as):
    from tests.support import TODAY

    suspended = make.member(name="Hidden Person", status=MemberStatus.SUSPENDED)
    login_as()
    form = {"direction": "gave", "hours": "1", "extra_minutes": "0",
            "service_date": TODAY.isoformat(), "category": "0", "description": ""}
    for other in (f"x (#{suspended})", "x (#99999)"):
        body = submit(client, "/exchanges/new", {**form, "other": other}).get_data(as_text=True)
        assert "No member matches" in body and "Hidden Person" not in body


def test_coordinator_cannot_suspend_an_admin(client, app, make, login_as):
    admin = make.member(Role.ADMIN)
    login_as(Role.COORDINATOR)
    response = submit(client, f"/coordinator/members/{admin}/suspend", {},
                      page="/coordinator/members")
    assert response.status_code == 403
    with app.app_context():
        assert get(admin).status == MemberStatus.ACTIVE

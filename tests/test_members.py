"""Coordinators approve, suspend and reactivate; members keep their profile; admins set roles."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support import (
    PASSWORD,
    agree_to_everything,
    bank_of,
    count_queries,
    get,
    login,
    submit,
)
from timebank.core.ledger import writer as ledger
from timebank.core.models import AuditEvent, Member, MemberStatus, Role
from timebank.infra import clock
from timebank.infra.extensions import db

HX = {"HX-Request": "true"}  # the member picker asks as htmx does


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
    from timebank.core.models import OutboxMessage

    login_as(Role.COORDINATOR)
    member_id = make.member(email="sus@example.org")
    page = f"/coordinator/members/{member_id}/suspend"
    assert "Why? They will be told this" in client.get(page).get_data(as_text=True)
    no_reason = submit(client, page, {"reason": "  "})
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.get_data(as_text=True)
    with app.app_context():
        assert get(member_id).status == MemberStatus.ACTIVE  # nothing without a reason
    submit(client, page, {"reason": "Missed three visits without a word"})
    with app.app_context():
        assert get(member_id).status == MemberStatus.SUSPENDED
        told = db.session.query(OutboxMessage).filter_by(to_email="sus@example.org").one()
        assert "Missed three visits" in told.body
    assert "Reason given: Missed three visits" in client.get(
        f"/coordinator/members/{member_id}").get_data(as_text=True)
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
        assert get(member_id).role_in(bank_of(member_id)) == Role.COORDINATOR


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
    html = client.get("/members/search?other=Al", headers=HX).get_data(as_text=True)
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
        assert boss.is_admin and boss.status == MemberStatus.ACTIVE
        assert boss.check_password("a-secret-password")
        assert db.session.query(Member).filter_by(email="x@example.org").count() == 0


def test_residents_cannot_search_by_email_but_staff_can(client, make, login_as):
    make.member(name="Zed", email="secret.address@example.org")
    login_as()
    assert "Zed" not in client.get("/members/search?q=secret.a", headers=HX).get_data(as_text=True)
    assert "Zed" in client.get("/members/search?q=Ze", headers=HX).get_data(as_text=True)
    login_as(Role.COORDINATOR)
    assert "Zed" in client.get("/members/search?q=secret.a", headers=HX).get_data(as_text=True)


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


# -- data rights (issue 12) -------------------------------------------------------------------


def _people_with_history(app, make):
    """Dana (who will export and erase) and Omar, with an exchange, listing, introduction,
    message and outcome between them; Omar's details are what Dana must never get."""
    from datetime import date

    from timebank.core.models import Category, Listing, MatchMessage

    dana = make.member(name="Dana Doe", email="dana@example.org")
    omar = make.member(name="Omar Other", email="omar-secret@example.org")
    coordinator = make.member(Role.COORDINATOR, email="coord@example.org")
    _request, match_id = make.match(dana, omar, coordinator, title="Dana's lawn")
    with app.app_context():
        get(dana).phone, get(omar).phone = "0700 dana", "0700 omar-secret"
        get(omar).address = "omar-secret street"
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        db.session.add(Listing(bank_id=bank_of(omar),
                               member_id=omar, kind="offer", category_id=garden,
                               title="omar-secret offer", expires_on=date(2099, 1, 1)))
        db.session.add(MatchMessage(match_id=match_id, author_id=dana, body="dana's words"))
        db.session.add(MatchMessage(match_id=match_id, author_id=omar,
                                    body="omar-secret words"))
        db.session.commit()
        exchange = ledger.record_exchange(
            giver=ledger.account_of(get(omar)), receiver=ledger.account_of(get(dana)),
            minutes=90, service_date=clock.today(), recorded_by=get(dana),
            idempotency_key=ledger.new_key(), confirm=True, description="Mowing").exchange
        ledger.add_outcome(exchange.id, get(dana), 4, "dana's outcome", False)
    return dana, omar, coordinator


def test_export_holds_everything_about_the_member_and_nothing_about_others(app, client,
                                                                         make):
    import json

    dana, _omar, _coordinator = _people_with_history(app, make)
    login(client, "dana@example.org")
    assert "Download everything" in client.get("/account/data").get_data(as_text=True)
    response = client.get("/account/data.json")
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    text = response.get_data(as_text=True)
    data = json.loads(text)
    assert data["profile"]["email"] == "dana@example.org"
    assert data["profile"]["phone"] == "0700 dana"
    assert "password_hash" not in text and get_hash(app, dana) not in text
    assert [e["minutes"] for e in data["exchanges"]] == [90]
    assert data["exchanges"][0]["you"] == "received"
    assert data["outcomes_you_gave"][0]["text"] == "dana's outcome"
    assert [m["body"] for m in data["messages_you_wrote"]] == ["dana's words"]
    assert data["listings"][0]["title"] == "Dana's lawn"
    assert data["accounts"][0]["balance"] == -90
    assert "omar" not in text.lower()  # not his name, address, phone, offer or words
    statement = client.get("/statement.csv").get_data(as_text=True)
    assert "Mowing" in statement
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="member.export",
                                                      actor_id=dana).count() == 1


def get_hash(app, member_id: int) -> str:
    with app.app_context():
        return get(member_id).password_hash


def test_erasure_keeps_the_ledger_and_shows_a_former_member(app, client, make):
    from timebank.core.models import MatchMessage, Notification

    dana, omar, _coordinator = _people_with_history(app, make)
    login(client, "dana@example.org")
    wrong = submit(client, "/account/data", {"password": "not-my-password"})
    assert wrong.status_code == 422
    assert submit(client, "/account/data", {"password": PASSWORD}).status_code == 303
    # Nobody erases themselves: a coordinator confirms (and is told).
    assert submit(client, f"/coordinator/members/{dana}/erase", {},
                  page="/account/data").status_code == 403
    with app.app_context():
        before = {a.id: a.balance for a in db.session.query(ledger.Account)}
        assert db.session.query(Notification).filter(
            Notification.text.contains("asked for their personal details")).count() == 1
    login(client, "coord@example.org")
    assert "Asked to be erased" in client.get(f"/coordinator/members/{dana}").get_data(
        as_text=True)
    response = submit(client, f"/coordinator/members/{dana}/erase", {},
                      page=f"/coordinator/members/{dana}")
    assert response.status_code == 303
    with app.app_context():
        member = get(dana)
        assert member.display_name == "Former member" and member.erased_at is not None
        assert "dana" not in (member.email + member.phone + member.address).lower()
        assert member.latitude is None and member.status == MemberStatus.SUSPENDED
        assert {a.id: a.balance for a in db.session.query(ledger.Account)} == before
        assert ledger.check_ledger() == []
        words = [m.body for m in db.session.query(MatchMessage)]
        assert "dana's words" not in words and "omar-secret words" in words
    assert login(client, "dana@example.org").status_code == 422  # no way back in
    login(client, "omar-secret@example.org")
    statement = client.get("/statement").get_data(as_text=True)
    assert "Former member" in statement and "Dana" not in statement


def test_declining_an_application_tells_the_applicant_why(client, login_as, make, app):
    from timebank.core.models import OutboxMessage

    login_as(Role.COORDINATOR)
    applicant = make.member(status=MemberStatus.PENDING, account=False, name="Al Applicant",
                            email="al@example.org")
    response = submit(client, f"/coordinator/members/{applicant}/decline",
                      {"reason": "We only cover Riverside for now"})
    assert response.status_code == 303
    with app.app_context():
        assert get(applicant).status == MemberStatus.DECLINED
        told = db.session.query(OutboxMessage).filter_by(to_email="al@example.org").one()
        assert "not accepted" in told.body and "only cover Riverside" in told.body
    from tests.support import login

    refused = login(client, "al@example.org")
    assert refused.status_code == 422 and "not accepted" in refused.get_data(as_text=True)


def test_buttons_a_coordinator_may_not_use_are_not_shown(client, login_as, make):
    login_as(Role.COORDINATOR)
    other = make.member(Role.COORDINATOR, name="Other Coordinator")
    resident = make.member(name="Rita Resident")
    assert "Suspend" not in client.get(f"/coordinator/members/{other}").get_data(as_text=True)
    assert "Suspend Rita Resident" in client.get(f"/coordinator/members/{resident}").get_data(
        as_text=True)
    listing = client.get("/coordinator/members").get_data(as_text=True)
    assert "Suspend Other Coordinator" not in listing and "Suspend Rita Resident" in listing
    # Nor for someone who coordinates another bank, wherever they stand here.
    from timebank.core import banks
    from timebank.core.banks import create_bank

    with client.application.app_context():
        north = create_bank("north", "North Bank")
        banks.join(get(resident), north, "coordinator", "active")
        db.session.commit()
    listing = client.get("/coordinator/members?q=rita").get_data(as_text=True)
    assert "Rita Resident" in listing and "Suspend Rita Resident" not in listing
    assert client.get(f"/coordinator/members/{other}/suspend").status_code in (403, 200)
    refused = submit(client, f"/coordinator/members/{other}/suspend", {"reason": "x"},
                     page=f"/coordinator/members/{resident}/suspend")
    assert refused.status_code == 403


def test_a_coordinator_enrols_a_member_without_email_who_later_gets_a_login(
        client, login_as, make, app, nominatim):
    from timebank.core.models import Membership, OutboxMessage

    app.config.update(TIMEBANK_GEOCODER_DOMAIN=nominatim.domain)
    login_as(Role.COORDINATOR)
    response = submit(client, "/coordinator/members/new", {
        "display_name": "Dilys No-Email", "neighbourhood": "Riverside",
        "phone": "01234 567890", "address": "1 High Street, Riverside", "email": ""})
    assert response.status_code == 303
    member_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"number {member_id}" in page and "none: reach them by phone or post" in page
    with app.app_context():
        member = get(member_id)
        assert member.email is None and member.status == MemberStatus.ACTIVE
        assert member.latitude is not None  # the address was looked up
        assert db.session.query(Membership).filter_by(member_id=member_id).one().status == (
            "active")
        assert ledger.account_of(member) is not None
        assert db.session.query(OutboxMessage).count() == 0  # nobody to e-mail
    # Later they want a log-in: an address brings a link to choose a password.
    edit = f"/coordinator/members/{member_id}/edit"
    assert "Dilys No-Email" in client.get(edit).get_data(as_text=True)
    submit(client, edit, {"display_name": "Dilys Jones", "neighbourhood": "Riverside",
                          "phone": "01234 567890", "address": "1 High Street, Riverside",
                          "email": "dilys@example.org"})
    with app.app_context():
        assert get(member_id).email is None  # not before a second coordinator agrees
    assert agree_to_everything(app, make.member(Role.COORDINATOR)) == 1
    with app.app_context():
        assert get(member_id).email == "dilys@example.org"
        assert get(member_id).display_name == "Dilys Jones"
        mail = db.session.query(OutboxMessage).filter_by(to_email="dilys@example.org").one()
    import re

    link = re.search(r"https?://[^/\s]+(/password/reset/\S+)", mail.body).group(1)
    from tests.support import login, logout

    logout(client)
    assert submit(client, link, {"password": "blue-kettle-garden",
                                 "confirm": "blue-kettle-garden"}).status_code == 303
    assert login(client, "dilys@example.org", "blue-kettle-garden").status_code == 302


def test_a_coordinator_cannot_take_over_a_members_login_by_changing_their_email(
        client, login_as, make, app):
    login_as(Role.COORDINATOR)
    member_id = make.member(email="own@example.org", name="Owen Own")
    response = submit(client, f"/coordinator/members/{member_id}/edit", {
        "display_name": "Owen Own", "neighbourhood": "Riverside",
        "email": "coordinator-controlled@example.org"})
    assert response.status_code == 422
    assert "changes their own e-mail address" in response.get_data(as_text=True)
    with app.app_context():
        assert get(member_id).email == "own@example.org"


def test_erasure_leaves_no_name_in_others_notifications_mail_trail_or_caches(app, client,
                                                                              make):
    """Found by review: the erased name stayed in other people's notifications and e-mails,
    the audit trail's notes, coordinators' notes and the geocoder's cache."""
    from timebank.core.members import rights
    from timebank.core.models import (
        AuditEvent,
        GeocodeCache,
        Match,
        Notification,
        OutboxMessage,
    )
    from timebank.infra import geo

    dana, omar, coordinator = _people_with_history(app, make)
    with app.app_context():
        member = get(dana)
        member.display_name, member.address = "Dana Uniquename", "7 Secret Row"
        db.session.add(GeocodeCache(query=geo.normalise_query("7 Secret Row"), latitude=51.5,
                                    longitude=-0.1))
        db.session.add(Notification(member_id=omar, text="Dana Uniquename accepted it", url="/"))
        db.session.add(OutboxMessage(member_id=omar, to_email="omar-secret@example.org",
                                     subject="From Dana Uniquename", body="Dana Uniquename wrote"))
        db.session.query(Match).update({"note": "Dana Uniquename prefers mornings"})
        db.session.commit()
        member.erasure_requested_at = clock.now()
        rights.erase(member, get(coordinator))
        texts = [n.text for n in db.session.query(Notification)]
        texts += [m.subject + m.body for m in db.session.query(OutboxMessage)]
        texts += [str(e.detail) for e in db.session.query(AuditEvent)]
        texts += [m.note for m in db.session.query(Match)]
        assert not [t for t in texts if "Uniquename" in t]
        assert "Former member accepted it" in texts
        assert db.session.query(GeocodeCache).count() == 0


def test_a_member_of_two_banks_is_erased_only_by_an_admin(app, make):
    from timebank.core.banks import create_bank, join
    from timebank.core.members import rights

    both = make.member(name="Bea Both")
    coordinator = make.member(Role.COORDINATOR)
    admin = make.member(Role.ADMIN)
    with app.app_context():
        join(get(both), create_bank("north", "North"), status=MemberStatus.ACTIVE)
        get(both).erasure_requested_at = clock.now()
        db.session.commit()
        import pytest

        with pytest.raises(rights.RightsError):
            rights.erase(get(both), get(coordinator))
        assert get(both).erased_at is None
        rights.erase(get(both), get(admin))
        assert get(both).erased_at is not None


def test_the_directory_finds_members_and_shows_only_what_they_chose_to(app, client, make,
                                                                       login_as):
    from datetime import timedelta

    from timebank.core.models import Category, Listing

    login_as()
    baker = make.member(name="Bea Baker", email="bea-private@example.org")
    make.member(name="Gus Gardener", email="gus@example.org")
    with app.app_context():
        bea, gus = get(baker), db.session.query(Member).filter_by(display_name="Gus Gardener").one()
        bea.neighbourhood, bea.phone, bea.address = "Hillcrest", "0700 BEA", "9 Hidden Lane"
        gus.neighbourhood, gus.phone, gus.directory_contact = "Riverside", "0700 GUS", True
        bea.share_contact = True  # to people she is introduced to: not the whole directory
        baking = db.session.query(Category).filter_by(slug="cooking").one_or_none() or \
            db.session.query(Category).first()
        db.session.add(Listing(bank_id=bank_of(baker),
                               member_id=baker, kind="offer", category_id=baking.id,
                               title="Sourdough lessons", expires_on=clock.today() + timedelta(9)))
        db.session.commit()
        baking_id = baking.id
    everyone = client.get("/members").get_data(as_text=True)
    assert "Bea Baker" in everyone and "Gus Gardener" in everyone
    assert "0700 GUS" in everyone and "gus@example.org" in everyone  # Gus chose to share
    for hidden in ("0700 BEA", "bea-private@example.org", "9 Hidden Lane"):
        assert hidden not in everyone
    by_kind = client.get(f"/members?category={baking_id}").get_data(as_text=True)
    assert "Bea Baker" in by_kind and "Sourdough lessons" in by_kind
    assert "Gus Gardener" not in by_kind
    by_place = client.get("/members?neighbourhood=river").get_data(as_text=True)
    assert "Gus Gardener" in by_place and "Bea Baker" not in by_place
    assert "Gus Gardener" in client.get("/members?name=gu").get_data(as_text=True)
    # The picker's address opened directly is a page too, not a bare fragment.
    direct = client.get("/members/search?q=Bea")
    assert direct.status_code == 302 and direct.headers["Location"].startswith("/members?")


def test_the_directory_filter_fields_show_each_answer_and_choice(app, client, login_as):
    """The directory's filter fields are drawn once per what they show (the kinds of help
    as named now, the one chosen, in the reader's language); a name or place typed in is
    drawn afresh, each as typed."""
    from tests.support import kind_choice_follows_renames

    login_as()
    garden = kind_choice_follows_renames(client, app, "/members", "/members")
    for name, place in (("hedge", "Canton"), ("ladder", "Splott")):
        page = client.get(f"/members?name={name}&neighbourhood={place}&category={garden}")
        text = page.get_data(as_text=True)
        assert f'value="{name}"' in text and f'value="{place}"' in text
        assert 'value="hedge"' not in text or name == "hedge"
    welsh = client.get("/members", headers={"Accept-Language": "cy"}).get_data(as_text=True)
    english = client.get("/members").get_data(as_text=True)
    labels = re.compile(r'<label for="name">([^<]+)</label>')
    assert labels.search(welsh).group(1) != labels.search(english).group(1)
    # Found by review: each spelling of the same choice made a key of its own, so anyone
    # could fill the fragment store by asking for "05", "005", "+5"…
    from timebank.web.caching import _fragments

    client.get(f"/members?category={garden}")
    held = len(_fragments.items)
    for spelling in (f"0{garden}", f"00{garden}", f"+{garden}", f" {garden}"):
        page = client.get(f"/members?category={spelling}").get_data(as_text=True)
        assert f'<option selected value="{garden}">Gardens and allotments<' in page
    assert len(_fragments.items) == held


def test_the_directory_pages_through_every_member_in_name_order(app, client, make,
                                                                login_as):
    """A page of 25 cards, then the next after the last name shown, filters kept: every
    active member of the bank can be reached, each once (before, only the first 100 by
    name ever showed). Suspended members and other banks' stay out; a page address
    made up, or naming a member the page never shows, answers 400."""
    import re

    from tests.support import many_members
    from timebank.core.banks import create_bank

    login_as()
    many_members(app, 40, prefix="Dir")
    quiet = make.member(name="Dir 00007b", status=MemberStatus.SUSPENDED)
    with app.app_context():
        create_bank("north", "North")
        db.session.commit()
    elsewhere = make.member(name="Dir 00008b", bank="north")
    seen, url, pages = [], "/members?name=dir", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r"<h2>(Dir \d+b?)</h2>", page)
        pages += 1
        found = re.search(r'href="([^"]+)">Next page</a>', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert "name=dir" in url
    assert pages == 2
    assert seen == [f"Dir {i:05d}" for i in range(40)]  # in order, each once
    with app.app_context():
        assert get(quiet).display_name == "Dir 00007b"  # there, but suspended
    assert client.get("/members?after=x1").status_code == 400
    # Where a member this page never shows would sort is not for the reader to learn.
    for hidden in (quiet, elsewhere, 10**9):
        assert client.get(f"/members?after={hidden}").status_code == 400


def test_staff_edit_only_people_of_their_own_banks_and_correct_unconfirmed_addresses(
        app, client, make, login_as):
    """Found by review: a coordinator of one bank renamed another bank's coordinator; an
    address mistyped by staff could never be corrected; a failed enrolment left a member."""
    from timebank.core.banks import create_bank, join

    login_as(Role.COORDINATOR)
    other_coordinator = make.member(name="Nia North")
    with app.app_context():
        join(get(other_coordinator), create_bank("north", "North"), "coordinator", "active")
        db.session.commit()
    edit = f"/coordinator/members/{other_coordinator}/edit"
    assert client.get(edit).status_code == 403
    response = submit(client, "/coordinator/members/new", {
        "display_name": "Tom Typo", "neighbourhood": "Riverside", "email": "tom@exmaple.org"})
    member_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    fixed = submit(client, f"/coordinator/members/{member_id}/edit", {
        "display_name": "Tom Typo", "neighbourhood": "Riverside", "email": "tom@example.org"})
    assert fixed.status_code == 303
    # The corrected address replaces the mistyped one's request; a second coordinator
    # agrees to it (four_eyes.py), and only then is it the member's.
    assert agree_to_everything(app, make.member(Role.COORDINATOR)) == 1
    with app.app_context():
        assert get(member_id).email == "tom@example.org"
        before = db.session.query(Member).count()
    taken = submit(client, "/coordinator/members/new", {
        "display_name": "Second Tom", "neighbourhood": "Riverside", "email": "tom@example.org"})
    assert taken.status_code == 422
    with app.app_context():
        assert db.session.query(Member).count() == before  # nothing half-made


def test_a_member_without_a_login_is_erased_on_request_by_phone(app, client, login_as):
    from timebank.core.models import Membership

    login_as(Role.COORDINATOR)
    response = submit(client, "/coordinator/members/new", {
        "display_name": "Pat Paper", "neighbourhood": "Riverside", "phone": "01234 000000"})
    member_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = f"/coordinator/members/{member_id}"
    data = client.get(f"{page}/data.json")
    assert data.status_code == 200 and data.get_json()["profile"]["phone"] == "01234 000000"
    submit(client, f"{page}/suspend", {"reason": "Moved away, says Pat Paper"})
    submit(client, f"{page}/reactivate", {}, page=page)
    assert submit(client, f"{page}/erasure-request", {}, page=page).status_code == 303
    assert submit(client, f"{page}/erase", {}, page=page).status_code == 303
    with app.app_context():
        member = get(member_id)
        assert member.erased_at is not None and member.phone == ""
        assert db.session.query(Membership).filter_by(member_id=member_id).one(
        ).status_reason == ""
        events = db.session.query(AuditEvent).filter_by(object_id=member_id).all()
        assert not [e for e in events if "Moved away" in str(e.detail)]


def test_the_helpers_page_shows_the_newest_newcomers_and_how_many_joined(app, make):
    """A launch month may bring hundreds: the page lists the newest few, newest first,
    and says how many joined; those approved over 30 days ago are not newcomers."""
    from datetime import timedelta

    from timebank.core.members import service
    from timebank.core.models.base import utcnow
    from timebank.web.tenancy import current_bank_id

    ids = [make.member(name=f"New {i:03d}") for i in range(service.HELPER_RECENT_SHOWN + 3)]
    old = make.member(name="Old Timer")
    with app.test_request_context("/"):
        now = utcnow()
        for n, member_id in enumerate([*ids, old]):
            membership = get(member_id).membership_in(current_bank_id())
            membership.approved_at = now - timedelta(minutes=n) - (
                timedelta(days=40) if member_id == old else timedelta(0))
        db.session.commit()
        found = service.helper_lists(current_bank_id(), now)
        assert [m.id for m in found["recent"]] == ids[:service.HELPER_RECENT_SHOWN]
        assert found["recent_count"] == len(ids)


def test_a_helper_does_exactly_what_the_helper_role_allows(app, client, make):
    """Issue 16: a coordinator makes a resident a helper. The helper sees newcomers and
    members without e-mail, and prints those members' sheets; nothing a coordinator does
    beyond that (approving, members' pages, recording for others, answering ideas)."""
    from tests.support import submit
    from timebank.core.models import Member, MemberStatus

    coordinator = make.member(Role.COORDINATOR, name="Cora Coordinator",
                              email="cora@example.org")
    hal = make.member(name="Hal Helper", email="hal@example.org")
    new = make.member(name="Nina Newcomer", status=MemberStatus.PENDING, account=False)
    other = make.member(name="Olly Online", email="olly@example.org")
    with app.app_context():
        offline = Member(display_name="Dilys Davies", email=None, password_hash="!",
                         status=MemberStatus.ACTIVE, neighbourhood="Riverside", phone="0123",
                         share_contact=False)
        db.session.add(offline)
        db.session.commit()
        from timebank.core import banks

        banks.join(offline, banks.ensure_default_bank(), "resident", MemberStatus.ACTIVE)
        db.session.commit()
        offline_id = offline.id
    login(client, "cora@example.org")
    made = submit(client, f"/coordinator/members/{hal}/helper", {"helper": "1"},
                  page=f"/coordinator/members/{hal}")
    assert made.status_code == 303
    with app.app_context():
        from timebank.core.models import Membership

        assert db.session.query(Membership).filter_by(member_id=hal).one().role == "helper"
    login(client, "hal@example.org")
    page = client.get("/helpers")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nina Newcomer" in body and "Dilys Davies" in body and "0123" not in body
    assert client.get(f"/coordinator/members/{offline_id}/timesheet").status_code == 200
    assert client.get(f"/coordinator/members/{other}/timesheet").status_code == 404
    assert client.get(f"/coordinator/members/{offline_id}/statement").status_code in (403, 404)
    assert client.get("/coordinator/members").status_code == 403
    assert client.get(f"/coordinator/members/{offline_id}").status_code == 403
    assert client.get("/coordinator/exchanges/new").status_code == 403
    assert submit(client, f"/coordinator/members/{new}/approve", {},
                  page="/helpers").status_code == 403
    # A resident does not see the helper's page; and a helper made a resident again loses it.
    login(client, "olly@example.org")
    assert client.get("/helpers").status_code == 403
    login(client, "cora@example.org")
    submit(client, f"/coordinator/members/{hal}/helper", {"helper": "0"},
           page=f"/coordinator/members/{hal}")
    login(client, "hal@example.org")
    assert client.get("/helpers").status_code == 403
    assert coordinator


def test_members_list_rows_are_drawn_once_but_show_each_change(client, login_as, make, app):
    """A row without a form is remembered per everything it shows: a new name, place,
    balance, role or status shows at once; a row with a form (approve, reactivate)
    always carries this request's token."""

    from timebank.core.ledger import writer as ledger

    login_as(Role.COORDINATOR)
    gwen, rhys = make.member(name="Gwen Giver"), make.member(name="Rhys Receiver")
    client.get("/coordinator/members")  # the log-in's welcome is shown once
    first = client.get("/coordinator/members").get_data(as_text=True)
    assert "Gwen Giver" in first and f"/coordinator/members/{gwen}/suspend" in first
    with app.test_request_context("/"):
        get(gwen).display_name, get(gwen).neighbourhood = "Gwen Gardener", "Hillcrest"
        ledger.record_exchange(giver=ledger.account_of(get(gwen)),
                               receiver=ledger.account_of(get(rhys)), minutes=90,
                               service_date=clock.today(), recorded_by=get(rhys),
                               confirm=True, idempotency_key="rows-1")
        db.session.commit()
    changed = client.get("/coordinator/members").get_data(as_text=True)
    assert "Gwen Gardener" in changed and "Hillcrest" in changed and "Gwen Giver" not in changed
    assert changed.count("1 h 30 min") == 2  # given, and (−) received
    submit(client, f"/coordinator/members/{gwen}/suspend", {"reason": "Away"},
           page=f"/coordinator/members/{gwen}/suspend")
    suspended = client.get("/coordinator/members").get_data(as_text=True)
    tokens = re.findall(r'name="csrf_token" value="([^"]+)"', suspended)
    assert f"/coordinator/members/{gwen}/reactivate" in suspended
    again = client.get("/coordinator/members").get_data(as_text=True)
    assert f"/coordinator/members/{gwen}/reactivate" in again and tokens


def test_members_list_pages_by_name_and_finds_by_name_or_number(client, login_as, make, app):
    """A bank of 130: pages of 25 in name order, each member on exactly one page, the same
    few queries on every page whatever the bank's size; search by name or number."""
    from tests.support import count_queries, many_members

    login_as(Role.COORDINATOR)
    waiting = make.member(status=MemberStatus.PENDING, account=False, name="Zed Waiting")
    client.get("/coordinator/members")  # the status counts are kept once built
    first_page = count_queries(app, client, "/coordinator/members")
    ids = many_members(app, 128)
    seen, path, pages = [], "/coordinator/members", 0
    while path:
        page = client.get(path).get_data(as_text=True)
        pages += 1
        assert ("Zed Waiting" in page) == (pages == 1)  # applications first, apart
        seen += [int(n) for n in re.findall(r'href="/coordinator/members/(\d+)"', page)]
        found = re.search(r'href="(/coordinator/members\?after=\d+)"', page)
        path = found.group(1) if found else None
    assert pages == 6
    assert sorted(set(seen)) == sorted(seen)  # nobody twice
    assert set(ids) <= set(seen) and waiting in seen
    # A page deep in the list costs what the first did on a bank of three.
    last_after = re.search(r"after=(\d+)", client.get("/coordinator/members").get_data(
        as_text=True)).group(1)
    assert count_queries(app, client, f"/coordinator/members?after={last_after}") <= first_page
    assert count_queries(app, client, "/coordinator/members") == first_page
    found = client.get("/coordinator/members?q=many 0012").get_data(as_text=True)
    assert "Many 00120" in found and "Many 00119" not in found
    by_number = client.get(f"/coordinator/members?q=%23{ids[7]}").get_data(as_text=True)
    assert "Many 00007" in by_number and "Many 00008" not in by_number
    assert client.get("/coordinator/members?after=abc").status_code == 400
    assert client.get("/coordinator/members?q=%25_%5C").status_code == 200
    # Numbers no member can have (PostgreSQL's INTEGER ends at 2,147,483,647).
    assert client.get("/coordinator/members?after=99999999999").status_code == 400
    huge = client.get("/coordinator/members?q=%2399999999999")
    assert huge.status_code == 200 and "No members here." in huge.get_data(as_text=True)


def test_a_page_cursor_is_a_member_of_this_bank_only(client, login_as, make, app):
    """Issue 28, point 3: ``after=<another bank's member>`` was taken, and where their
    name sorted could be found by renaming (about 700 requests a name)."""
    from timebank.core.banks import create_bank

    login_as(Role.COORDINATOR)
    here = make.member(name="Mo Here")
    with app.app_context():
        create_bank("north", "North")
        db.session.commit()
    there = make.member(name="Nell Elsewhere", bank="north")
    assert client.get(f"/coordinator/members?after={here}").status_code == 200
    refused = client.get(f"/coordinator/members?after={there}")
    assert refused.status_code == 400 and "Unknown page" in refused.get_data(as_text=True)
    assert client.get(f"/members?after={there}").status_code == 400


def test_many_applications_say_how_many_more_wait(client, login_as, make):
    """The first page shows the oldest applications; past a page of them it says how
    many wait in all, and links to every one."""
    from timebank.core.members.lookup import APPLICATIONS_SHOWN, PAGE_SIZE

    login_as(Role.COORDINATOR)
    for n in range(PAGE_SIZE + 2):
        make.member(status=MemberStatus.PENDING, account=False, name=f"Waiting {n:02d}",
                    email=f"waiting{n}@example.org")
    page = client.get("/coordinator/members").get_data(as_text=True)
    shown = APPLICATIONS_SHOWN
    assert f"These are the oldest {shown} of {PAGE_SIZE + 2} applications." in page
    assert f"Waiting {shown - 1:02d}" in page and f"Waiting {shown:02d}" not in page
    assert 'href="/coordinator/members?status=pending"' in page
    every = client.get("/coordinator/members?status=pending").get_data(as_text=True)
    assert f"Waiting {PAGE_SIZE + 1:02d}" in every or "Next page" in every


def _database_bytes(app, db_url: str) -> bytes:
    """Every byte the database holds: SQLite's main file and write-ahead log, or a plain
    PostgreSQL dump."""
    from pathlib import Path

    from tests.pg import _bin

    with app.app_context():
        db.session.remove()
    if db_url.startswith("sqlite"):
        main = Path(db_url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (main, Path(f"{main}-wal")) if p.exists())
    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run([_bin("pg_dump"), "--no-owner", url], capture_output=True,
                          check=True).stdout


def test_erasure_leaves_no_byte_of_the_person_in_the_database(app, client, make, db_url,
                                                              nominatim):
    """Issue 28, point 5: after erasure the database still held the name and e-mail (the
    SQLite write-ahead log, 43 times), the geocoder's cache the previous home address, an
    asset they suggested their name and phone, and a coordinator's public answer and
    others' comments and messages their name. Now none of it is anywhere in the files."""
    from timebank.core.members import rights, service
    from timebank.core.models import (
        Asset,
        AssetCategory,
        Idea,
        IdeaAnswer,
        IdeaComment,
        MatchMessage,
    )
    from timebank.infra import geo

    app.config.update(TIMEBANK_GEOCODER_DOMAIN=nominatim.domain)
    dana, omar, coordinator = _people_with_history(app, make)
    secrets = ["Dana Quillfeather", "dana.quill@example.org", "07700 900461",
               "2 High Street, Riverside", "1 High Street, Riverside"]
    with app.app_context():
        member = get(dana)
        member.display_name, member.email, member.phone = secrets[0], secrets[1], secrets[2]
        db.session.commit()
        coder = geo.geocoder()
        # She moved: both homes went through the geocoder (and its cache).
        service.locate(get(dana), secrets[4], coder)
        db.session.commit()
        service.locate(get(dana), secrets[3], coder)
        db.session.commit()
        kind = db.session.query(AssetCategory).first().id
        db.session.add(Asset(name="Dana Quillfeather's garden", category_id=kind,
                             description="Ask Dana Quillfeather on 07700 900461",
                             address_1=secrets[3], phone=secrets[2], submitted_by_id=dana))
        idea = Idea(proposer_id=omar, title="Benches", need="Dana Quillfeather asked too")
        db.session.add(idea)
        db.session.flush()
        db.session.add(IdeaAnswer(idea_id=idea.id, by_id=coordinator, status="planned",
                                  answer="Thanks to Dana Quillfeather for the idea"))
        db.session.add(IdeaComment(idea_id=idea.id, author_id=omar,
                                   body="Ring dana.quill@example.org about it"))
        match_id = db.session.query(MatchMessage).first().match_id
        db.session.add(MatchMessage(match_id=match_id, author_id=omar,
                                    body="Dana Quillfeather said 07700 900461 is best"))
        db.session.commit()
    assert all(s.encode() in _database_bytes(app, db_url) for s in secrets[:3])
    with app.app_context():
        get(dana).erasure_requested_at = clock.now()
        db.session.commit()
        rights.erase(get(dana), get(coordinator))
        assert ledger.check_ledger() == []
    held = _database_bytes(app, db_url).lower()
    for secret in secrets:
        assert secret.lower().encode() not in held, secret
    assert b"quillfeather" not in held and b"900461" not in held


def test_a_long_history_downloads_as_a_stream_in_the_same_statements(app, client, make,
                                                                      monkeypatch, db_kind):
    """The download is written as it is read: many pieces, not one document built in
    memory, and the same number of statements for 120 exchanges as for 220 (a long
    history is read in batches from a cursor, here from 100 exchanges). A short history
    on PostgreSQL reads all its lists in one statement."""
    import json

    from timebank.core.members import rights

    monkeypatch.setattr(rights, "CHUNK", 2000)
    monkeypatch.setattr(rights, "LONG_HISTORY", 100)
    giver, busy = make.member(), make.member(email="busy@example.org")
    login(client, "busy@example.org")

    def record(n: int) -> None:
        with app.app_context():
            for i in range(n):
                ledger.record_exchange(
                    giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(busy)),
                    minutes=2, service_date=clock.today(), recorded_by=get(busy),
                    idempotency_key=ledger.new_key(), confirm=True, description=f"Help {i}")
            db.session.commit()

    def download() -> tuple[int, int, dict]:
        statements = count_queries(app, client, "/account/data.json")
        pieces = list(client.get("/account/data.json").response)
        text = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)
        return len(pieces), statements, json.loads(text)

    record(10)
    few_pieces, few_statements, few = download()
    record(110)
    many_pieces, many_statements, many = download()
    record(100)
    _more_pieces, more_statements, more = download()
    assert [len(d["exchanges"]) for d in (few, many, more)] == [10, 120, 220]
    assert many_pieces > few_pieces >= 1 and many_pieces >= 5
    # (The same questions: a cursor's fetches run no statement of their own.)
    assert more_statements == many_statements, (many_statements, more_statements)
    # A long history's four long lists and long trail (LONG_HISTORY lines of the audit
    # log, here one a recorded exchange) each from its own cursor, the rest as before.
    assert few_statements <= many_statements <= few_statements + 5
    if db_kind == "postgresql":  # the log-in's, the audit's, the history's, the lists'
        assert few_statements <= 7, few_statements


def test_the_lists_read_at_once_are_what_reading_them_one_by_one_gives(app, client, make,
                                                                       monkeypatch, db_kind):
    """On PostgreSQL a download's short lists come from one statement (each a json_agg of
    its rows): every value, order and type as reading them one by one gives."""
    import json

    from timebank.core.models import GeocodeCache
    from timebank.core.notify import notify
    from timebank.infra import geo
    from timebank.infra.db import Lists

    dana, _omar, _coordinator = _people_with_history(app, make)
    with app.app_context():
        get(dana).address = "1 Dana Street"
        notify(get(dana), "Omar Other answered you", "/", site_wide=True)
        db.session.add(GeocodeCache(query=geo.normalise_query("1 Dana Street"),
                                    display_name="Dana Street, Town",
                                    latitude=51.5, longitude=-0.1))
        db.session.commit()
    login(client, "dana@example.org")

    def one_by_one(self, session, params, leave_out=frozenset()):
        return {name: [row._asdict() for row in session.execute(query, params)]
                for name, query in self.queries.items() if name not in leave_out}

    def download(reader) -> tuple[int, dict]:
        monkeypatch.setattr(Lists, "read", reader)
        statements = count_queries(app, client, "/account/data.json")
        return statements, json.loads(client.get("/account/data.json").get_data(as_text=True))

    at_once = Lists.read
    alone_statements, alone = download(one_by_one)
    together_statements, together = download(at_once)
    assert together["where_we_place_you"]["geocoder_answer"] == "Dana Street, Town"
    assert together["notifications"][0]["text"] == "another member answered you"
    assert together["exchanges"][0]["service_date"] == clock.today().isoformat()
    # Each download is audited before it is read (two each: counted, then read).
    assert together.pop("activity_log")[:-2] == alone.pop("activity_log")
    together.pop("exported_at"), alone.pop("exported_at")
    assert together == alone
    if db_kind == "postgresql":
        assert together_statements <= alone_statements - 20, (together_statements,
                                                              alone_statements)


def test_a_folded_list_keeps_its_order_by_more_than_luck(app, make, db_kind):
    """A list read with the others keeps the order its query asks for. PostgreSQL only
    "usually" aggregates a sorted subquery's rows in that order, so on PostgreSQL the
    aggregate itself is ordered, by each row's place."""
    from sqlalchemy import bindparam, select

    from timebank.infra.db import Lists

    for n in range(5):
        make.member(name=f"Member {n}", email=f"m{n}@example.org")
    low = Member.id >= bindparam("low")
    lists = Lists({
        "newest_first": select(Member.id, Member.display_name).where(low)
        .order_by(Member.id.desc()),
        "names": select(Member.display_name).where(low)
        .order_by(Member.display_name, Member.id),
        # Numbering would change these: each is read on its own, as it is.
        "places": select(Member.neighbourhood).where(low).distinct()
        .order_by(Member.neighbourhood),
        "by_label": select(Member.id.label("n")).where(low).order_by("n"),
        "own_place": select(Member.id.label("_place")).where(low).order_by(Member.id),
    })
    with app.app_context():
        found = lists.read(db.session, {"low": 0})
        ids = db.session.scalars(select(Member.id).order_by(Member.id.desc())).all()
        plans = list(lists._plans.values())
    assert [row["id"] for row in found["newest_first"]] == ids
    assert all(set(row) == {"id", "display_name"} for row in found["newest_first"])  # no place
    assert [row["display_name"] for row in found["names"]] == sorted(
        row["display_name"] for row in found["names"])
    assert found["places"] == [{"neighbourhood": "Riverside"}]
    assert [row["n"] for row in found["by_label"]] == sorted(ids)
    assert [row["_place"] for row in found["own_place"]] == sorted(ids)
    if db_kind == "postgresql":
        (_folded, statement, alone), = plans
        sql = " ".join(str(statement).split())
        assert alone == ["places", "by_label", "own_place"] and sql.count("json_agg(") == 2
        assert sql.count("ORDER BY s0._place)") == 1, sql
        assert sql.count("ORDER BY s1._place)") == 1, sql

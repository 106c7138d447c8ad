"""Notifications in the app, and e-mail through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.pg import free_port
from tests.support import PASSWORD, TODAY, bank_of, get, hidden_fields, login, mail_config, submit
from timebank.core import notify
from timebank.core.models import Category, Listing, Notification, OutboxMessage, Role
from timebank.infra import clock
from timebank.infra.extensions import db


@pytest.fixture
def app_config(smtp, request):
    return mail_config(smtp[1])


def tell(member_id: int, text, url: str, **kwargs) -> None:
    if not kwargs.get("site_wide"):
        kwargs.setdefault("bank_id", bank_of(member_id))
    notify.notify(get(member_id), text, url, **kwargs)


def unread(member_id: int) -> int:
    return notify.unread_count(member_id, bank_of(member_id))


def test_notify_queues_mail_and_send_mail_delivers_it(app, make, smtp, client):
    inbox, _port = smtp
    member_id = make.member(email="reader@example.org")
    with app.app_context():
        tell(member_id, "Someone could help with your request.", "/notifications",
                      subject="Help is at hand")
        db.session.commit()
        assert unread(member_id) == 1
        sent, failed = notify.send_pending(app.config)
        assert (sent, failed) == (1, 0)
        assert db.session.query(OutboxMessage).one().sent_at is not None
        assert notify.send_pending(app.config) == (0, 0)  # never sent twice
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.envelopes[0].rcpt_tos == ["reader@example.org"]
    assert message["Subject"] == "Help is at hand"
    assert message["From"] == "bank@example.org"
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/\S+)", body).group(1)
    login(client, "reader@example.org")
    page = client.get(link)
    assert page.status_code == 200 and "Someone could help" in page.get_data(as_text=True)
    with app.app_context():  # looking changes nothing (issue 12): a GET is safe
        assert unread(member_id) == 1
    assert submit(client, "/notifications/read", {}, page=link).status_code == 303
    with app.app_context():
        assert unread(member_id) == 0


def test_failing_smtp_leaves_message_queued_for_retry(app, make, smtp):
    inbox, _port = smtp
    member_id = make.member()
    with app.app_context():
        tell(member_id, "Hello", "/")
        db.session.commit()
        inbox.reply = "451 Try again later"
        assert notify.send_pending(app.config) == (0, 1)
        queued = db.session.query(OutboxMessage).one()
        assert queued.sent_at is None and queued.attempts == 1 and "451" in queued.last_error
        down = dict(app.config, TIMEBANK_MAIL_PORT=free_port())  # nothing listens there
        assert notify.send_pending(down) == (0, 1)
        db.session.refresh(queued)
        assert queued.attempts == 2 and queued.sent_at is None
        inbox.reply = "250 OK"
        assert notify.send_pending(app.config) == (1, 0)
    assert len(inbox.messages) == 1


def test_preferences_never_and_weekly_queue_no_immediate_mail(app, make):
    never = make.member()
    weekly = make.member()
    with app.app_context():
        get(never).email_preference = "never"
        get(weekly).email_preference = "weekly"
        for member_id in (never, weekly):
            tell(member_id, "Hi", "/")
        db.session.commit()
        assert db.session.query(OutboxMessage).count() == 0
        assert db.session.query(Notification).count() == 2


def test_weekly_digest_lists_new_listings_near_in_my_categories(app, make, smtp):
    inbox, _port = smtp
    reader = make.member(email="weekly@example.org")
    poster = make.member(name="Poster")
    with app.app_context():
        garden = db.session.query(Category).filter_by(slug="gardening").one().id
        cooking = db.session.query(Category).filter_by(slug="cooking").one().id
        me = get(reader)
        me.email_preference = "weekly"
        me.public_latitude, me.public_longitude = 51.5, -0.1
        soon = clock.today() + timedelta(days=10)
        db.session.add_all([
            Listing(bank_id=bank_of(reader),
                    member_id=reader, kind="offer", category_id=garden, title="My own",
                    latitude=51.5, longitude=-0.1, expires_on=soon),
            Listing(bank_id=bank_of(poster),
                    member_id=poster, kind="request", category_id=garden, title="Near lawn",
                    latitude=51.501, longitude=-0.1, expires_on=soon),
            Listing(bank_id=bank_of(poster),
                    member_id=poster, kind="request", category_id=garden, title="Far lawn",
                    latitude=53.0, longitude=-2.0, expires_on=soon),
            Listing(bank_id=bank_of(poster),
                    member_id=poster, kind="request", category_id=cooking, title="Soup",
                    latitude=51.5, longitude=-0.1, expires_on=soon),
        ])
        db.session.commit()
        with notify.site_context():
            assert notify.queue_digests() == 1
            assert notify.queue_digests() == 0  # not twice in a week
        notify.send_pending(app.config)
    body = inbox.messages[0].get_payload(decode=True).decode()
    assert "Near lawn" in body and "Far lawn" not in body and "Soup" not in body
    assert "My own" not in body
    assert re.search(r"http://testserver/listings/\d+", body)


def test_send_mail_cli(app, make, smtp):
    inbox, _port = smtp
    member_id = make.member()
    with app.app_context():
        tell(member_id, "Hello", "/")
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0 and "1 sent, 0 failed" in result.output
    assert len(inbox.messages) == 1


def test_messages_between_match_sides_notify_without_emails(app, make, client, smtp):
    from timebank.core.models import Role

    requester = make.member(email="req@example.org", name="Req")
    helper = make.member(email="helper@example.org", name="Helper")
    coordinator = make.member(Role.COORDINATOR)
    _request_id, match_id = make.match(requester, helper, coordinator)
    login(client, "req@example.org")
    response = submit(client, f"/matches/{match_id}/messages", {"body": "Tuesday at 10?"},
                      page=f"/matches/{match_id}")
    assert response.status_code == 303
    empty = submit(client, f"/matches/{match_id}/messages", {"body": "  "},
                   page=f"/matches/{match_id}")
    assert empty.status_code == 422
    page = client.get(f"/matches/{match_id}").get_data(as_text=True)
    assert "Tuesday at 10?" in page and "helper@example.org" not in page
    with app.app_context():
        assert unread(helper) == 1
        assert db.session.query(OutboxMessage).filter_by(to_email="helper@example.org").count() == 1


def test_a_hostile_subject_never_blocks_the_queue(app, make, smtp):
    """A listing title with a line break once crashed send-mail for every later message."""
    inbox, _port = smtp
    member_id = make.member()
    with app.app_context():
        tell(member_id, "Re: Lawn\r\nBcc: everyone@example.org", "/")
        tell(member_id, "A normal message", "/")
        db.session.commit()
        assert notify.send_pending(app.config) == (2, 0)
    subjects = [m["Subject"] for m in inbox.messages]
    assert subjects[0] == "Re: Lawn Bcc: everyone@example.org" and len(subjects) == 2
    assert all(m["Bcc"] is None for m in inbox.messages)


def test_notifications_and_e_mails_go_out_in_the_recipients_language(app, make):
    from flask_babel import lazy_gettext as _l

    from timebank.core.models import Notification

    welsh = make.member(email="cymro@example.org")
    english = make.member(email="sais@example.org")
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        get(welsh).language = "cy"
        for member_id in (welsh, english):
            tell(member_id, _l("New message from %(by)s about “%(title)s”.",
                                             by="Ann", title="Lawn"), "/",
                          subject=_l("Your introduction is agreed"))
        db.session.commit()
        texts = {n.member_id: n.text for n in db.session.query(Notification)}
        subjects = {m.member_id: m.subject for m in db.session.query(OutboxMessage)}
    # Each in their own language, whatever the language of the page that caused it.
    assert texts[welsh] == "Neges newydd gan Ann am “Lawn”."
    assert subjects[welsh] == "Mae'ch cyflwyniad wedi'i gytuno"
    assert texts[english] == "New message from Ann about “Lawn”."
    assert subjects[english] == "Your introduction is agreed"


def test_a_coordinators_weekly_digest_opens_with_applications_waiting(app, make):
    from timebank.core.models import Member, MemberStatus

    coordinator = make.member("coordinator", email="weekly-coord@example.org")
    make.member(status=MemberStatus.PENDING, account=False, name="Waiting One")
    with app.app_context():
        db.session.get(Member, coordinator).email_preference = "weekly"
        db.session.commit()
        with notify.site_context():
            assert notify.queue_digests() == 1
        mail = db.session.query(OutboxMessage).filter_by(
            to_email="weekly-coord@example.org").one()
        assert "Applications waiting for approval: 1" in mail.body
        assert "/coordinator/members?status=pending" in mail.body


def test_job_runner_sends_mail_on_its_schedule_and_survives_a_failing_job(app, make, smtp,
                                                                         monkeypatch):
    """One round sends what is queued; a job that raises is logged and the others still
    run; a job is not run again before its interval; a second runner stays out."""
    from timebank import jobs

    inbox, _port = smtp
    member_id = make.member(email="runner@example.org")
    with app.app_context():
        tell(member_id, "A job ran.", "/notifications", subject="From the runner")
        db.session.commit()

    def broken(_app):
        raise RuntimeError("the geocoder fell over")

    named = {job.name: job for job in jobs.JOBS}
    monkeypatch.setattr(jobs, "JOBS", (named["send-mail"], jobs.Job("geocode-pending", 300, broken),
                                       named["send-digests"]))
    last: dict[str, float] = {}
    assert jobs.run_due(app, last, 1000.0) == ["send-mail", "geocode-pending", "send-digests"]
    assert [m["Subject"] for m in inbox.messages] == ["From the runner"]
    assert jobs.run_due(app, last, 1030.0) == []  # nothing is due yet
    assert jobs.run_due(app, last, 1061.0) == ["send-mail"]
    lock = open(f"{app.instance_path}/jobs.lock", "w")  # noqa: SIM115 - held below
    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SystemExit, match="another job runner"):
            jobs.run_forever(app, once=True)
    finally:
        lock.close()
    jobs.run_forever(app, once=True)  # the lock is free again


def test_every_notification_can_be_reached_a_page_at_a_time(app, make, client):
    """Newest first, a page at a time (keyset): the oldest of many is one link away
    after another, and no notification shows on two pages."""
    member_id = make.member(email="busy@example.org")
    total = 2 * notify.PAGE_SIZE + 5
    with app.app_context():
        for n in range(total):
            tell(member_id, f"Notice number {n:03d}.", "/notifications")
        db.session.commit()
    login(client, "busy@example.org")
    seen, url, pages = [], "/notifications", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        pages += 1
        seen += re.findall(r"Notice number (\d{3})", page)
        assert ("Latest notifications" in page) == (pages > 1)
        older = re.search(r'href="(/notifications\?before=\d+)"', page)
        url = older.group(1) if older else None
    assert pages == 3 and seen == [f"{n:03d}" for n in reversed(range(total))]
    with app.app_context():  # only the oldest unread: the first page still offers the button
        db.session.query(Notification).filter(
            Notification.member_id == member_id,
            Notification.id > min(n.id for n in db.session.query(Notification))).update(
            {"read_at": db.func.now()})
        db.session.commit()
    assert "Mark all as read" in client.get("/notifications").get_data(as_text=True)
    assert client.get("/notifications?before=abc").status_code == 200


def test_news_from_a_bank_is_signed_by_that_bank_and_links_into_it(app, make):
    """A member of two banks hears of something in their second: the e-mail is signed by
    that bank (not the first they joined), and its link opens in it. Their erasure
    request reaches each bank's coordinators with a link into that coordinator's bank."""
    from timebank.core.banks import add_member, create_bank
    from timebank.core.members.rights import request_erasure
    from timebank.core.models import Bank

    member_id = make.member(email="two@example.org", name="Tess Two")
    make.member(Role.COORDINATOR, email="south@example.org")
    with app.app_context():
        north = create_bank("north", "North Bank")
        db.session.commit()
        north_id = north.id
        add_member(None, north, "two@example.org", "resident")
        db.session.commit()
    north_coordinator = make.member(Role.COORDINATOR, email="north@example.org", bank="north")
    with app.app_context():
        first = db.session.get(Bank, bank_of(member_id)).name
        tell(member_id, "Something in the north.", "/b/north/notifications", bank_id=north_id)
        db.session.commit()
        mail = db.session.query(OutboxMessage).filter(
            OutboxMessage.to_email == "two@example.org",
            OutboxMessage.body.like("Something in the north.%")).one()
        assert "\n--\nNorth Bank\n" in mail.body and first not in mail.body
        request_erasure(get(member_id), PASSWORD)
        told = {n.member_id: n.url for n in db.session.query(Notification).filter(
            Notification.text.like("Tess Two asked%"))}
    assert told[north_coordinator].startswith("/b/north/coordinator/members/")
    assert len(told) == 2 and all(f"/members/{member_id}" in url for url in told.values())


def test_the_menu_counts_unread_notifications_up_to_99_plus(app, make, client):
    """The menu's badge counts what is unread in this bank and site-wide (not another
    bank's), and past 99 says "99+" without counting a busy member's thousands."""
    from timebank.core.banks import create_bank

    member_id = make.member(email="counted@example.org")
    login(client, "counted@example.org")
    with app.app_context():
        north = create_bank("north", "North Bank")
        for n in range(4):
            tell(member_id, f"Notice {n}.", "/notifications")
        tell(member_id, "For everyone.", "/notifications", site_wide=True)
        tell(member_id, "In the north.", "/notifications", bank_id=north.id)
        db.session.commit()
    assert 'Notifications <span class="badge">5<' in client.get("/").get_data(as_text=True)
    with app.app_context():
        for n in range(notify.UNREAD_COUNTED):
            tell(member_id, f"More {n}.", "/notifications")
        db.session.commit()
        assert unread(member_id) == notify.UNREAD_COUNTED
    assert 'Notifications <span class="badge">99+<' in client.get("/").get_data(as_text=True)
    submit(client, "/notifications/read", {}, page="/notifications")
    assert 'class="badge"' not in client.get("/").get_data(as_text=True)


# -- every step of an exchange tells the other side ---------------------------------


def _told(app, member_id: int) -> list[str]:
    with app.app_context():
        return [n.text for n in db.session.query(Notification)
                .filter_by(member_id=member_id).order_by(Notification.id)]


def _mail_to(inbox, address: str) -> list[tuple[str, str]]:
    return [(m["Subject"], m.get_payload(decode=True).decode()) for m, e
            in zip(inbox.messages, inbox.envelopes, strict=True) if e.rcpt_tos == [address]]


def _time_form(other: str, direction: str = "gave", **extra) -> dict:
    return {"direction": direction, "other": other, "hours": "1", "extra_minutes": "30",
            "service_date": TODAY.isoformat(), "category": "0",
            "description": "Fixed the fence", **extra}


def test_every_step_of_an_exchange_tells_the_other_side_in_their_language(app, make, smtp,
                                                                          client):
    """Recorded, declined with a reason, confirmed, cancelled, recorded for both by a
    coordinator, reversed, a group activity: each reaches the other side in the site and by
    e-mail, in their language (Bryn reads Welsh), naming who, how long and a link; the
    person who acted is never told of their own step."""
    from timebank.core.ledger import writer as ledger
    from timebank.core.models import Exchange, Member

    inbox, _port = smtp
    ann = make.member(name="Ann Jones", email="ann@example.org")
    bryn = make.member(name="Bryn Evans", email="bryn@example.org")
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator", email="cora@example.org")
    with app.app_context():
        db.session.get(Member, bryn).language = "cy"
        db.session.commit()

    login(client, "ann@example.org")
    first = submit(client, "/exchanges/new", _time_form(f"Bryn Evans (#{bryn})"),
                   page="/exchanges/new")
    assert first.status_code == 303
    first_id = int(first.headers["Location"].rsplit("/", 1)[1])
    assert _told(app, ann) == []  # never told of one's own step
    asked = _told(app, bryn)
    assert len(asked) == 1 and "Ann Jones" in asked[0] and "1 awr 30 mun" in asked[0]
    assert "Cadarnhewch" in asked[0]  # "Please confirm it…" in Welsh

    login(client, "bryn@example.org")
    declined = client.post(f"/exchanges/{first_id}/decline", data={
        **hidden_fields(client.get(f"/exchanges/{first_id}").get_data(as_text=True)),
        "reason": "It was only an hour", "back": "show"})
    assert declined.status_code == 303
    said = _told(app, ann)
    assert len(said) == 1 and "Bryn Evans" in said[0] and "It was only an hour" in said[0]
    assert "declined" in said[0]
    page = client.get(f"/exchanges/{first_id}").get_data(as_text=True)
    assert "It was only an hour" in page  # the reason stays on the exchange

    login(client, "ann@example.org")
    second = submit(client, "/exchanges/new", _time_form(f"Bryn Evans (#{bryn})"),
                    page="/exchanges/new")
    second_id = int(second.headers["Location"].rsplit("/", 1)[1])
    third = submit(client, "/exchanges/new", _time_form(f"Bryn Evans (#{bryn})"),
                   page="/exchanges/new")
    third_id = int(third.headers["Location"].rsplit("/", 1)[1])
    submit(client, f"/exchanges/{third_id}/cancel", {"back": "show"},
           page=f"/exchanges/{third_id}")
    cancelled = _told(app, bryn)[-1]
    assert "Ann Jones" in cancelled and "canslo" in cancelled  # Welsh: cancelled
    login(client, "bryn@example.org")
    submit(client, f"/exchanges/{second_id}/confirm", {"back": "show"},
           page=f"/exchanges/{second_id}")
    confirmed = _told(app, ann)[-1]
    assert "Bryn Evans confirmed the 1 h 30 min" in confirmed

    # A coordinator records for both: each hears it; then reverses it, with the reason.
    login(client, "cora@example.org")
    on_behalf = submit(client, "/coordinator/exchanges/new", {
        "giver": f"Ann Jones (#{ann})", "receiver": f"Bryn Evans (#{bryn})", "hours": "2",
        "extra_minutes": "0", "service_date": TODAY.isoformat(), "category": "0",
        "description": "Shopping"}, page="/coordinator/exchanges/new")
    assert on_behalf.status_code == 303
    behalf_id = int(on_behalf.headers["Location"].rsplit("/", 1)[1])
    assert "Cora Coordinator recorded for you that you gave Bryn Evans 2 h" in _told(app, ann)[-1]
    assert "Cora Coordinator" in _told(app, bryn)[-1] and "2 awr" in _told(app, bryn)[-1]
    reversed_ = submit(client, f"/exchanges/{behalf_id}/reverse", {"reason": "Entered twice"},
                       page=f"/exchanges/{behalf_id}/reverse")
    assert reversed_.status_code == 303
    for person in (ann, bryn):
        last = _told(app, person)[-1]
        assert "Cora Coordinator" in last and "Entered twice" in last
    assert "reversed" in _told(app, ann)[-1]

    submit(client, "/coordinator/activities/new", {
        "direction": "to_pool", "participants": f"Ann Jones (#{ann})\nBryn Evans (#{bryn})",
        "hours": "3", "extra_minutes": "0", "service_date": TODAY.isoformat(),
        "category": "0", "description": "Litter pick"}, page="/coordinator/activities/new")
    assert "Cora Coordinator recorded 3 h you gave to the community" in _told(app, ann)[-1]
    assert "3 awr" in _told(app, bryn)[-1] and "Litter pick" in _told(app, bryn)[-1]
    assert _told(app, cora) == []

    # Every notification went by e-mail too (their setting: at once), in their language,
    # with a link to the exchange that works for them.
    with app.app_context():
        assert notify.send_pending(app.config) == (12, 0)
        assert ledger.check_ledger() == []
        exchanges = db.session.query(Exchange).count()
    assert exchanges == 7  # three recorded by Ann, one for both, its reversal, two walkers
    to_ann, to_bryn = _mail_to(inbox, "ann@example.org"), _mail_to(inbox, "bryn@example.org")
    assert len(to_ann) == 5 and len(to_bryn) == 7
    assert to_ann[0][0] == "Bryn Evans declined 1 h 30 min"
    assert to_bryn[0][0] == "Cadarnhewch 1 awr 30 mun gan Ann Jones"
    link = re.search(r"http://testserver(/exchanges/\d+)", to_bryn[0][1]).group(1)
    assert link == f"/exchanges/{first_id}"
    assert client.get(link).status_code == 200  # Bryn may open it


def test_weekly_readers_get_unread_news_in_their_digest(app, make, smtp):
    """A member who chose the weekly e-mail is not mailed at once; their digest lists what
    is waiting for them, so nothing about their hours is missed."""
    from timebank.core.ledger import writer as ledger
    from timebank.core.models import EmailPreference, Member

    inbox, _port = smtp
    ann = make.member(name="Ann Jones", email="ann@example.org")
    bob = make.member(name="Bob Weekly", email="bob@example.org")
    with app.app_context():
        db.session.get(Member, bob).email_preference = EmailPreference.WEEKLY
        db.session.commit()
        ledger.record_exchange(
            giver=ledger.account_of(get(ann)), receiver=ledger.account_of(get(bob)),
            minutes=45, service_date=clock.today(), recorded_by=get(ann),
            idempotency_key=ledger.new_key(), confirm=False)
        assert db.session.query(OutboxMessage).count() == 0  # not at once
        with notify.site_context():
            assert notify.queue_digests() == 1
        notify.send_pending(app.config)
    (subject, body), = _mail_to(inbox, "bob@example.org")
    assert "Ann Jones says they gave you 45 min" in body
    assert re.search(r"http://testserver/exchanges/\d+", body)


def test_hours_recorded_or_withdrawn_in_someones_name_reach_them(app, make):
    """Found by review: a pending exchange a coordinator recorded for a giver told only the
    receiver, and a coordinator's cancelling told only the receiver: the giver, whose hours
    they were, heard nothing."""
    from timebank.core.ledger import writer as ledger

    gwen = make.member(name="Gwen Giver")
    rhys = make.member(name="Rhys Receiver")
    cora = make.member(Role.COORDINATOR, name="Cora Coordinator")
    with app.app_context():
        recorded = ledger.record_exchange(
            giver=ledger.account_of(get(gwen)), receiver=ledger.account_of(get(rhys)),
            minutes=60, service_date=TODAY, recorded_by=get(cora),
            idempotency_key=ledger.new_key(), confirm=False).exchange.id
        db.session.commit()
    assert "Cora Coordinator recorded that you gave Rhys Receiver 1 h" in _told(app, gwen)[-1]
    assert "Please confirm" in _told(app, rhys)[-1] or "confirm" in _told(app, rhys)[-1]
    with app.app_context():
        ledger.cancel_exchange(recorded, get(cora))
        db.session.commit()
    assert "cancelled the 1 h you gave Rhys Receiver" in _told(app, gwen)[-1]
    assert "cancelled" in _told(app, rhys)[-1] and _told(app, cora) == []

"""Texts (SMS): members without a smartphone record, confirm and ask by text.

A local server plays the gateway both ways: it signs the texts it posts to
``/sms/inbound`` and takes the ones ``send-sms`` sends through its Messages API.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.fake_sms import FakeGateway, incoming
from tests.support import balance_of, get
from timebank.core.models import (
    AuditEvent,
    Bank,
    Exchange,
    ExchangeStatus,
    Member,
    Notification,
    StrangerTexts,
    TextMessage,
    TextStatus,
)
from timebank.core.texts import phones
from timebank.core.texts.outbox import GSM7
from timebank.infra import clock, sms
from timebank.infra.extensions import db
from timebank.jobs import send_texts

ANA, BEN, CAT = "+447700900111", "+447700900222", "+447700900333"


@pytest.fixture
def gateway():
    with FakeGateway() as server:
        yield server


@pytest.fixture
def app_config(gateway):
    return gateway.config()


@pytest.fixture
def phoned(app, make):
    """A member of the bank with a verified mobile."""
    def _make(number: str, name: str, **kwargs) -> int:
        member_id = make.member(name=name, **kwargs)
        with app.app_context():
            phones.set_verified(get(member_id), number, get(member_id), clock.utcnow())
            db.session.commit()
        return member_id
    return _make


def deliver(app) -> tuple[int, int]:
    with app.app_context():
        return send_texts(app.config)


def code_in(text: str) -> str:
    return re.search(r"YES (\d{4,})", text).group(1)


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# -- the gateway's signature, to its published example --------------------------------


def test_signature_matches_twilios_published_example():
    # The example in Twilio's "Webhooks security" guide: token 12345, this URL and form.
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms.twilio_signature(url, params.items(), "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert sms.valid_signature(url, params.items(), "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    changed = {**params, "Digits": "1235"}
    assert not sms.valid_signature(url, changed.items(), "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not sms.valid_signature(url, params.items(), "", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


@pytest.mark.parametrize(("typed", "country", "e164"), [
    ("07700 900123", "GB", "+447700900123"), ("+44 (0)7700-900123", "GB", "+447700900123"),
    ("612 345 678", "ES", "+34612345678"), ("not a number", "GB", None), ("12", "GB", None)])
def test_numbers_are_read_in_the_banks_country(typed, country, e164):
    assert sms.e164(typed, country) == e164


# -- the whole loop -------------------------------------------------------------------


def test_gave_then_yes_moves_exactly_the_hours_texted(app, client, gateway, phoned):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    response = incoming(client, ANA, f"GAVE 1.5 TO {ben} fixed the fence")
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert (balance_of(app, ana), balance_of(app, ben)) == (0, 0)  # waits for Ben's word
    assert deliver(app) == (2, 0)
    [to_ana] = gateway.to(ANA)
    assert "Ben" in to_ana and "1 h 30 min" in to_ana
    [to_ben] = gateway.to(BEN)
    assert "Ana" in to_ben and "fixed the fence" in to_ben
    code = code_in(to_ben)
    incoming(client, BEN, f"YES {code}")
    assert (balance_of(app, ana), balance_of(app, ben)) == (90, -90)
    deliver(app)
    assert "Confirmed" in gateway.to(BEN)[-1] and "-1 h 30 min" in gateway.to(BEN)[-1]
    assert "confirmed" in gateway.to(ANA)[-1]  # Ana hears Ben's answer by text too
    with app.app_context():
        exchange = db.session.scalar(select(Exchange))
        assert exchange.via == "text" and exchange.status == ExchangeStatus.CONFIRMED
        trail = {e.action: e.detail for e in db.session.scalars(select(AuditEvent))}
        assert trail["exchange.record"]["via"] == "text"
        assert trail["exchange.confirm"]["via"] == "text"
        # Both texts in and every text out are in the log, each with its member.
        assert db.session.scalar(select(func.count()).select_from(TextMessage).where(
            TextMessage.direction == "in", TextMessage.member_id.in_([ana, ben]))) == 2
    # A code works once.
    incoming(client, BEN, f"YES {code}")
    deliver(app)
    assert "not yours" in gateway.to(BEN)[-1]
    assert balance_of(app, ben) == -90


def test_got_is_confirmed_at_once_and_the_giver_is_told(app, client, gateway, phoned):
    from tests.support import login

    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, f"got 1h30 from {ben} shopping")
    assert (balance_of(app, ana), balance_of(app, ben)) == (-90, 90)
    deliver(app)
    assert "Your balance is -1 h 30 min" in gateway.to(ANA)[0]
    assert "Ana" in gateway.to(BEN)[0] and "YES" not in gateway.to(BEN)[0]
    # On the statement, on screen and on paper, it says how it came.
    with app.app_context():
        email = get(ben).email
    login(client, email)
    for page in ("/statement", "/statement/print"):
        html = client.get(page).get_data(as_text=True)
        assert "shopping" in html and "(by text)" in html, page


@pytest.mark.parametrize("amount", ["90m", "1:30", "1h30", "1,5"])
def test_amounts_written_every_usual_way(app, client, phoned, amount):
    _ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, f"GOT {amount} FROM {ben}")
    assert balance_of(app, ben) == 90


def test_forged_signature_is_refused_and_stores_nothing(app, client, gateway, phoned):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    assert incoming(client, ANA, f"GOT 2 FROM {ben}", forge=True).status_code == 403
    assert incoming(client, ANA, f"GOT 2 FROM {ben}", token="").status_code == 403
    unsigned = client.post("/sms/inbound", data={"From": ANA, "Body": "BAL",
                                                 "MessageSid": "SMx"})
    assert unsigned.status_code == 403
    assert count(app, TextMessage) == 0 and count(app, Exchange) == 0
    assert balance_of(app, ana) == 0


def test_the_url_signed_is_the_public_one_or_the_one_requested(app, client, gateway, phoned):
    phoned(ANA, "Ana")
    # As the gateways' own libraries check: the URL the post arrived at (the test client's).
    assert incoming(client, ANA, "BAL", base="http://localhost").status_code == 200
    # Any other URL, even with the right token, is not ours.
    assert incoming(client, ANA, "BAL", base="https://elsewhere.example").status_code == 403
    assert count(app, TextMessage, TextMessage.direction == "in") == 1


def test_odd_posts_are_answered_not_failed(app, client, gateway, phoned):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    # A NUL anywhere: a clear 400 before anything is read (PostgreSQL refuses NUL in text).
    for sender, body in ((ANA, "GAVE 1\x00 TO 2"), ("\x00+44 7700", "BAL")):
        assert incoming(client, sender, body).status_code == 400
    assert count(app, TextMessage) == 0
    # Huge, empty, or from nobody: answered (or quietly dropped), never a failure.
    for sender, body in ((ANA, "x" * 100_000), ("", "BAL"), (ANA, ""), ("not a number", "HI")):
        assert incoming(client, sender, body).status_code == 200
    incoming(client, ANA, f"GOT 1 FROM {ben}", sid="SM-odd/sid!" + "b" * 60)
    assert balance_of(app, ana) == -60
    with app.app_context():
        stored = db.session.scalars(select(TextMessage.body).where(
            TextMessage.direction == "in")).all()
        assert max(len(body) for body in stored) == 1600  # kept to ten SMS parts


def test_a_replayed_message_sid_changes_nothing(app, client, gateway, phoned):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    for _ in range(3):
        assert incoming(client, ANA, f"GOT 2 FROM {ben}", sid="SM" + "a" * 32).status_code == 200
    assert (balance_of(app, ana), balance_of(app, ben)) == (-120, 120)
    assert count(app, Exchange) == 1
    deliver(app)
    assert len(gateway.to(ANA)) == 1  # one answer too


def test_an_unknown_number_gets_one_polite_reply_and_nothing_is_kept(app, client, gateway):
    with app.app_context():
        db.session.scalar(select(Bank)).phone = "01632 960000"
        db.session.commit()
    stranger = "+447700900999"
    for _ in range(4):
        incoming(client, stranger, "GAVE 2 TO 1 hello")
    assert deliver(app) == (1, 0)
    [reply] = gateway.to(stranger)
    assert "not registered" in reply and "01632 960000" in reply
    assert count(app, TextMessage) == 0  # not the texts, not the reply once sent
    assert count(app, Exchange) == 0
    with app.app_context():
        [row] = db.session.scalars(select(StrangerTexts))
        assert row.count == 4 and stranger not in row.number_hash


@pytest.mark.parametrize(("body", "answer"), [
    ("GAVE lots TO {ben}", "is not an amount of time"),
    ("GAVE 30 TO {ben}", "at most 24 hours"),
    ("GAVE 0 TO {ben}", "more than zero"),
    ("GAVE 1.333 TO {ben}", "is not an amount of time"),
    ("GAVE 1 TO 999999999999", "no member number"),
    ("GAVE 1 TO {ana}", "no member number"),
    ("GAVE 2", "say whose member number"),
    ("hello there", "not understood"),
    ("GOT 1 5 FROM {ben}", "is not an amount of time"),  # not 15 hours
    ("GOT 1 30 {ben}", "is not an amount of time"),  # not an hour from member 30
    ("GAVE 2 TO ²", "say whose member number"),
    ("GAVE 2 ² x", "say whose member number"),
])
def test_nonsense_is_answered_and_moves_nothing(app, client, gateway, phoned, body, answer):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    assert incoming(client, ANA, body.format(ana=ana, ben=ben)).status_code == 200
    deliver(app)
    assert answer in gateway.to(ANA)[-1]
    assert count(app, Exchange) == 0


def test_someone_elses_code_confirms_nothing(app, client, gateway, phoned):
    _ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    phoned(CAT, "Cat")
    incoming(client, ANA, f"GAVE 2 TO {ben}")
    deliver(app)
    code = code_in(gateway.to(BEN)[0])
    incoming(client, CAT, f"YES {code}")  # Cat read Ben's phone
    incoming(client, ANA, f"YES {code}")  # the giver cannot confirm their own
    assert balance_of(app, ben) == 0
    deliver(app)
    assert "not yours" in gateway.to(CAT)[-1]
    assert "not yours" in gateway.to(ANA)[-1]
    incoming(client, BEN, f"NO {code}")
    deliver(app)
    assert "Declined" in gateway.to(BEN)[-1]
    with app.app_context():
        assert db.session.scalar(select(Exchange)).status == ExchangeStatus.DECLINED


def test_stop_ends_texts_until_start(app, client, gateway, phoned):
    _ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, BEN, "STOP")
    deliver(app)
    assert "no more texts" in gateway.to(BEN)[-1]
    incoming(client, ANA, f"GAVE 1 TO {ben}")
    incoming(client, BEN, "BAL")  # ignored while stopped
    deliver(app)
    assert len(gateway.to(BEN)) == 1
    with app.app_context():  # Ben still hears it on the site
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.member_id == ben)) == 1
    incoming(client, BEN, "START")
    incoming(client, BEN, "BAL")
    deliver(app)
    with app.app_context():  # on the trail, as by text
        steps = db.session.scalars(select(AuditEvent).where(
            AuditEvent.object_id == ben, AuditEvent.action.like("member.texts_%"))
            .order_by(AuditEvent.id)).all()
        assert [(e.action, e.detail["via"]) for e in steps] == [
            ("member.texts_stop", "text"), ("member.texts_start", "text")]
    assert "on again" in gateway.to(BEN)[-2] and "balance" in gateway.to(BEN)[-1]


@pytest.mark.parametrize(("gave", "yes", "words"), [
    ("RHOI 2 I {ben} garddio", "IE", ("Cofnodwyd", "Cadarnhawyd")),
    ("DI 2 A {ben} jardín", "SÍ", ("Registrado", "Confirmado")),
])
def test_welsh_and_spanish_commands_are_answered_in_kind(app, client, gateway, phoned,
                                                        gave, yes, words):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, gave.format(ben=ben))
    deliver(app)
    assert words[0] in gateway.to(ANA)[0]
    # In GSM letters only (no á, ŵ, −): one text part holds 160 of them, not 70.
    assert all(c in GSM7 for c in gateway.to(ANA)[0]), gateway.to(ANA)[0]
    code = re.search(r"(\d{4,})", gateway.to(BEN)[0]).group(1)  # the code comes first
    incoming(client, BEN, f"{yes} {code}")
    deliver(app)
    assert words[1] in gateway.to(BEN)[-1]
    assert balance_of(app, ana) == 120


def test_balance_and_help(app, client, gateway, phoned):
    ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, f"GOT 2 FROM {ben} shopping")
    incoming(client, ANA, "BAL")
    incoming(client, ANA, "HELP")
    deliver(app)
    balance, helping = gateway.to(ANA)[-2:]
    assert "-2 h" in balance and "Ben" in balance
    assert f"member number is {ana}" in helping and "GAVE" in helping


def test_the_monthly_cap_holds_texts_and_tells_coordinators(app, client, gateway, phoned,
                                                             make):
    from timebank.core import banks

    coordinator = make.member("coordinator", name="Cora")
    phoned(ANA, "Ana")
    with app.app_context():
        db.session.scalar(select(Bank)).sms_monthly_cap = 2
        db.session.commit()
    for _ in range(4):
        incoming(client, ANA, "BAL")
    assert deliver(app) == (2, 0)
    assert deliver(app) == (0, 0)  # held ones are not asked again every round
    assert len(gateway.to(ANA)) == 2
    assert count(app, TextMessage, TextMessage.status == TextStatus.HELD) == 2

    def told() -> int:
        with app.app_context():
            return sum("texts for this month" in t for t in db.session.scalars(
                select(Notification.text).where(Notification.member_id == coordinator)))
    assert told() == 1  # once, however many texts wait
    incoming(client, ANA, "BAL")
    deliver(app)
    assert told() == 1
    # An admin raises the cap: what waited goes at once.
    with app.app_context():
        bank = db.session.scalar(select(Bank))
        banks.update(bank, {"sms_monthly_cap": 10}, get(coordinator),
                     fields=("sms_monthly_cap",))
    assert deliver(app) == (3, 0)
    assert len(gateway.to(ANA)) == 5


def test_a_gateway_that_is_down_is_tried_again_later(app, client, gateway, phoned):
    phoned(ANA, "Ana")
    incoming(client, ANA, "BAL")
    gateway.mode = "503"
    assert deliver(app) == (0, 1)
    assert deliver(app) == (0, 0)  # not due yet: it waits a minute
    gateway.mode = "ok"
    clock.pin(clock.utcnow() + timedelta(minutes=2))
    assert deliver(app) == (1, 0)
    with app.app_context():
        message = db.session.scalar(select(TextMessage).where(TextMessage.direction == "out"))
        assert message.status == TextStatus.SENT and message.attempts == 2


def test_a_number_the_gateway_refuses_is_not_tried_again(app, client, gateway, phoned):
    phoned(ANA, "Ana")
    incoming(client, ANA, "BAL")
    gateway.mode = "400"
    assert deliver(app) == (0, 1)
    clock.pin(clock.utcnow() + timedelta(hours=1))
    assert deliver(app) == (0, 0)
    assert count(app, TextMessage, TextMessage.status == TextStatus.FAILED) == 1


def test_a_flood_from_one_number_is_ignored(app, client, gateway, phoned):
    phoned(ANA, "Ana")
    for _ in range(35):
        incoming(client, ANA, "BAL")
    deliver(app)
    assert len(gateway.to(ANA)) == 30
    assert count(app, TextMessage, TextMessage.status == TextStatus.IGNORED) == 5


def test_each_text_goes_once_however_many_senders(app, client, gateway, phoned):
    import threading

    phoned(ANA, "Ana")
    for _ in range(20):
        incoming(client, ANA, "BAL")
    results: list[tuple[int, int]] = []
    runners = [threading.Thread(target=lambda: results.append(deliver(app)))
               for _ in range(3)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(60)
    assert sum(sent for sent, _failed in results) == 20
    assert len(gateway.sent) == 20  # three senders at once, and each text went once


def test_a_text_a_sender_left_half_done_goes_later(app, client, gateway, phoned):
    phoned(ANA, "Ana")
    incoming(client, ANA, "BAL")
    with app.app_context():  # a sender claimed it, then its machine stopped
        message = db.session.scalar(select(TextMessage).where(TextMessage.direction == "out"))
        message.status, message.next_attempt_at = "sending", clock.utcnow()
        db.session.commit()
    assert deliver(app) == (0, 0)  # another sender may still be at work on it
    clock.pin(clock.utcnow() + timedelta(minutes=11))
    assert deliver(app) == (1, 0)
    assert len(gateway.to(ANA)) == 1


# -- mobiles on profiles --------------------------------------------------------------


def test_a_member_adds_their_mobile_with_a_texted_code(app, client, gateway, login_as):
    me = login_as()
    page = client.get("/account/texts")
    assert page.status_code == 200 and "Add your mobile" in page.get_data(as_text=True)
    from tests.support import submit
    bad = submit(client, "/account/texts/mobile", {"mobile": "not a phone"},
                 page="/account/texts")
    assert bad.status_code == 422 and "not a phone number" in bad.get_data(as_text=True)
    assert submit(client, "/account/texts/mobile", {"mobile": "07700 900111"},
                  page="/account/texts").status_code == 303
    deliver(app)
    code = re.search(r"(\d{6})", gateway.to(ANA)[0]).group(1)
    wrong = submit(client, "/account/texts/code", {"code": "000000" if code != "000000"
                                                   else "111111"}, page="/account/texts")
    assert wrong.status_code == 422
    assert submit(client, "/account/texts/code", {"code": code},
                  page="/account/texts").status_code == 303
    with app.app_context():
        assert get(me).mobile == ANA and get(me).mobile_verified_at is not None
    incoming(client, ANA, "BAL")
    deliver(app)
    assert "balance" in gateway.to(ANA)[-1]


def test_a_coordinator_setting_a_mobile_needs_a_second(app, client, make, gateway):
    from tests.support import agree_to_everything, login, submit

    first = make.member("coordinator", name="Cora")
    second = make.member("coordinator", name="Dee")
    mo = make.member(name="Mo")
    online = make.member(name="Nia")
    with app.app_context():
        email = get(first).email
        # Mo does not use the site (enrolled on paper): no log-in of his own.
        get(mo).email, get(mo).email_verified_at, get(mo).password_hash = None, None, ""
        db.session.commit()
    login(client, email)
    # Someone with a log-in keeps their own mobile: a coordinator cannot set it.
    refused = submit(client, f"/coordinator/members/{online}/mobile", {"mobile": ANA})
    assert refused.status_code == 422 and "look" in refused.get_data(as_text=True)
    response = submit(client, f"/coordinator/members/{mo}/mobile", {"mobile": CAT})
    assert response.status_code == 303
    with app.app_context():
        assert get(mo).mobile is None  # not until a second coordinator agrees
    incoming(client, CAT, "BAL")
    assert count(app, TextMessage, TextMessage.member_id == mo) == 0
    assert agree_to_everything(app, second) == 1
    with app.app_context():
        assert get(mo).mobile == CAT and get(mo).mobile_set_by_id == first


def test_create_user_sets_a_verified_mobile(app, db_url):
    from tests.support import flask_cli

    result = flask_cli(db_url, "create-user", "--email", "ffion@example.org", "--role",
                       "resident", "--name", "Ffion", "--phone", "07700 900444",
                       stdin="a long enough password\n")
    assert result.returncode == 0, result.stderr
    assert "mobile +447700900444" in result.stdout
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.email == "ffion@example.org"))
        assert member.mobile == "+447700900444" and member.mobile_verified_at is not None


def test_the_runner_texts_whats_new_weekly_and_help_answers_it(app, client, gateway, phoned,
                                                                make, monkeypatch):
    from timebank import jobs
    from timebank.core.models import Match

    ana = phoned(ANA, "Ana")
    ben = make.member(name="Ben")
    with app.app_context():
        get(ana).text_preference = "weekly"
        db.session.commit()
    make.listing(ben, kind="offer", title="Bread baking")
    named = {job.name: job for job in jobs.JOBS}
    monkeypatch.setattr(jobs, "JOBS", (named["weekly-texts"], named["send-sms"]))
    assert jobs.run_due(app, {}, 1000.0) == ["weekly-texts", "send-sms"]
    [weekly] = gateway.to(ANA)
    assert "New near you" in weekly and "Bread baking (Ben)" in weekly
    jobs.run_due(app, {}, 5000.0)  # the same week: nothing new, no second text
    assert len(gateway.to(ANA)) == 1
    number = re.search(r"Offer (\d+)", weekly).group(1)
    incoming(client, ANA, f"HELP {number}")
    deliver(app)
    assert "Sent: Ben hears" in gateway.to(ANA)[-1]
    with app.app_context():
        match = db.session.scalar(select(Match))
        assert (match.requester_id, match.helper_id) == (ana, ben)
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.member_id == ben)) == 1
    incoming(client, ANA, f"HELP {number}")  # a number answers once
    deliver(app)
    assert "not one we texted you" in gateway.to(ANA)[-1]



def test_stop_holds_in_a_flood_and_stops_texts_already_queued(app, client, gateway, phoned):
    _ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, f"GAVE 1 TO {ben}")  # Ben's request to confirm is queued...
    for _ in range(31):
        incoming(client, BEN, "BAL")
    incoming(client, BEN, "STOP")  # ...and Ben, mid-flood, says STOP
    deliver(app)
    assert not any("Reply YES" in text for text in gateway.to(BEN))
    assert "no more texts" in gateway.to(BEN)[-1]
    assert count(app, TextMessage, TextMessage.last_error == "no longer wanted") > 0


def test_guessing_codes_stops_for_the_day(app, client, gateway, phoned):
    _ana, ben = phoned(ANA, "Ana"), phoned(BEN, "Ben")
    incoming(client, ANA, f"GAVE 1 TO {ben}")
    deliver(app)
    code = code_in(gateway.to(BEN)[0])
    wrong = [c for c in ("1111", "2222", "3333", "4444", "5555", "6666") if c != code][:5]
    for guess in wrong:
        incoming(client, BEN, f"YES {guess}")
    incoming(client, BEN, f"YES {code}")  # even the right one waits for tomorrow
    assert balance_of(app, ben) == 0
    clock.pin(clock.utcnow() + timedelta(days=1, minutes=1))
    incoming(client, BEN, f"YES {code}")
    assert balance_of(app, ben) == -60


def test_a_text_can_be_typed_in_at_the_console(app, db_url, phoned):
    """Trying texts without a gateway, or an office typing in what its phone received."""
    from tests.support import flask_cli

    ana = phoned(ANA, "Ana")
    result = flask_cli(db_url, "receive-text", "--from", "07700 900111", "BAL")
    assert result.returncode == 0, result.stderr
    with app.app_context():
        [reply] = db.session.scalars(select(TextMessage).where(
            TextMessage.direction == "out", TextMessage.member_id == ana)).all()
        assert reply.number == ANA and "Your balance" in reply.body

"""Recording, confirming and correcting exchanges through the web pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from tests.support import TODAY as TODAY_DATE
from tests.support import balance_of, get, login, record_form, submit
from timebank.core.ledger import writer as ledger
from timebank.core.models import AuditEvent, Exchange, ExchangeStatus, Outcome, Role
from timebank.core.models.base import utcnow
from timebank.infra import clock
from timebank.infra.extensions import db

TODAY = TODAY_DATE.isoformat()


def test_gave_then_receiver_confirms(client, app, make, login_as):
    me = login_as()
    other = make.member(name="Olu Other", email="olu@example.org")
    response = submit(client, "/exchanges/new", record_form(f"Olu Other (#{other})"))
    assert response.status_code == 303
    exchange_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert balance_of(app, me) == 0  # not until Olu confirms
    submit(client, "/logout", {}, page="/profile")
    login(client, "olu@example.org")
    dashboard = client.get("/").get_data(as_text=True)
    assert "gave you 1 h 30 min" in dashboard
    response = submit(client, f"/exchanges/{exchange_id}/confirm", {}, page="/")
    assert response.status_code == 303
    assert balance_of(app, me) == 90 and balance_of(app, other) == -90


def test_received_counts_at_once(client, app, make, login_as):
    me = login_as()
    other = make.member(name="Gil Giver")
    response = submit(client, "/exchanges/new",
                      record_form(f"Gil Giver (#{other})", direction="received", hours=2,
                                  minutes=0))
    assert response.status_code == 303
    assert balance_of(app, me) == -120 and balance_of(app, other) == 120


def test_residents_learn_nothing_by_typing_an_address(client, app, make, login_as):
    """Issue 12: the record form once resolved e-mail addresses for residents (a known
    address made an exchange showing the owner's name). Now known and unknown addresses
    get the same refusal, and only staff find people by address."""
    login_as()
    make.member(email="giver@example.org", name="Secret Giver")
    answers = []
    for address in ("Giver@Example.org", "nobody@example.org"):
        response = submit(client, "/exchanges/new", record_form(address, direction="received"))
        body = response.get_data(as_text=True).replace(address, "ADDRESS")
        assert response.status_code == 422 and "Secret Giver" not in body
        answers.append(re.search(r"No member matches[^<]*", body).group(0))
    assert answers[0] == answers[1]
    with app.app_context():
        assert db.session.query(Exchange).count() == 0


def test_without_javascript_a_first_name_offers_the_members_it_could_mean(client, app, make,
                                                                        login_as):
    """No suggestions without JavaScript: "Sam", which seven members' names start with,
    gave "No member matches" and "pick from the list" (there is none). Now the form comes
    back offering the seven to choose from, and choosing one records the exchange."""
    login_as()
    sams = [make.member(name=f"Sam {last}") for last in ("Ahmed", "Brown", "Clarke", "Davies",
                                                        "Evans", "Fraser", "Green")]
    make.member(name="Ann Samson")  # "Sam" starts a word of her name too
    answer = submit(client, "/exchanges/new", record_form("Sam"), page="/exchanges/new")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Several members could be “Sam”" in body
    assert body.count('type="radio" id="other-pick-') == 8 and "pick from the list" not in body
    chosen = submit(client, "/exchanges/new", record_form(f"Sam Davies (#{sams[3]})"),
                    page="/exchanges/new")
    assert chosen.status_code == 303
    nobody = submit(client, "/exchanges/new", record_form("Zebedee"), page="/exchanges/new")
    said = nobody.get_data(as_text=True)
    assert "No member matches “Zebedee”" in said and "member number" in said


def test_staff_find_members_by_address(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    other = make.member(email="giver@example.org")
    response = submit(client, "/exchanges/new",
                      record_form("Giver@Example.org", direction="received"))
    assert response.status_code == 303
    assert balance_of(app, other) == 90


def test_same_form_twice_makes_one_exchange(client, app, make, login_as):
    login_as()
    other = make.member(name="Twice")
    html = client.get("/exchanges/new").get_data(as_text=True)
    from tests.support import hidden_fields

    data = {**hidden_fields(html), **record_form(f"Twice (#{other})", direction="received")}
    first = client.post("/exchanges/new", data=data)
    second = client.post("/exchanges/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.query(Exchange).count() == 1
    assert balance_of(app, other) == 90


def test_htmx_confirm_swaps_row_and_balance(client, app, make, login_as):
    me = login_as()
    giver = make.member(name="Gia")
    with app.app_context():
        result = ledger.record_exchange(
            giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(me)),
            minutes=60, service_date=clock.today(), recorded_by=get(giver),
            idempotency_key="hx", confirm=False)
        exchange_id = result.exchange.id
    response = submit(client, f"/exchanges/{exchange_id}/confirm", {}, page="/",
                      headers={"HX-Request": "true", "HX-Target": f"exchange-{exchange_id}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body  # a fragment, not a page
    assert f'id="exchange-{exchange_id}"' in body and "Confirmed" in body
    assert 'id="balance"' in body and 'hx-swap-oob="true"' in body and "−1 h" in body
    again = submit(client, f"/exchanges/{exchange_id}/confirm", {}, page="/",
                   headers={"HX-Request": "true"})
    assert again.status_code == 409 and "already confirmed" in again.get_data(as_text=True)


def test_members_see_only_their_own_exchanges(client, app, make, login_as):
    login_as()
    a, b = make.member(), make.member()
    with app.app_context():
        result = ledger.record_exchange(
            giver=ledger.account_of(get(a)), receiver=ledger.account_of(get(b)), minutes=60,
            service_date=clock.today(), recorded_by=get(a), idempotency_key="x", confirm=False)
        exchange_id = result.exchange.id
    assert client.get(f"/exchanges/{exchange_id}").status_code == 404
    response = submit(client, f"/exchanges/{exchange_id}/confirm", {}, page="/")
    assert response.status_code == 404
    assert client.get(f"/coordinator/members/{a}/statement").status_code == 404
    with app.app_context():
        assert db.session.get(Exchange, exchange_id).status == ExchangeStatus.PENDING


def test_coordinator_records_on_behalf(client, app, make, login_as):
    coordinator = login_as(Role.COORDINATOR)
    giver = make.member(name="Gwen Giver")
    receiver = make.member(name="Reg Receiver")
    response = submit(client, "/coordinator/exchanges/new", {
        "giver": f"Gwen Giver (#{giver})", "receiver": "Reg Receiver", "hours": "3",
        "extra_minutes": "15", "service_date": TODAY, "category": "0", "description": ""})
    assert response.status_code == 303
    assert balance_of(app, giver) == 195 and balance_of(app, receiver) == -195
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="exchange.record").one()
        assert event.actor_id == coordinator
        assert (event.detail["giver_member"], event.detail["receiver_member"]) == (
            giver, receiver)


def test_group_activity_page(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    people = [make.member(name=f"Walker {i}") for i in range(3)]
    lines = "\n".join(f"Walker {i} (#{pid})" for i, pid in enumerate(people))
    response = submit(client, "/coordinator/activities/new", {
        "direction": "to_pool", "participants": lines, "hours": "2", "extra_minutes": "0",
        "service_date": TODAY, "category": "0", "description": "Litter pick"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count("Walker") == 3 and "Community pool" in page
    assert [balance_of(app, p) for p in people] == [120, 120, 120]


def test_group_activity_unknown_participant_keeps_text(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    make.member(name="Known")
    response = submit(client, "/coordinator/activities/new", {
        "direction": "to_pool", "participants": "Known\nNobody Atall", "hours": "1",
        "extra_minutes": "0", "service_date": TODAY, "category": "0", "description": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "No member matches “Nobody Atall”" in body and "Known\nNobody Atall" in body
    with app.app_context():
        assert db.session.query(Exchange).count() == 0


def test_reverse_from_the_page(client, app, make, login_as):
    login_as(Role.COORDINATOR)
    a, b = make.member(email="ada.giver@example.org"), make.member()
    with app.app_context():
        original = ledger.record_exchange(
            giver=ledger.account_of(get(a)), receiver=ledger.account_of(get(b)), minutes=60,
            service_date=clock.today(), recorded_by=get(b), idempotency_key="r", confirm=True,
        ).exchange.id
    empty = submit(client, f"/exchanges/{original}/reverse", {"reason": ""})
    assert empty.status_code == 422 and "Give a reason" in empty.get_data(as_text=True)
    response = submit(client, f"/exchanges/{original}/reverse", {"reason": "Entered twice"})
    assert response.status_code == 303
    assert balance_of(app, a) == 0 and balance_of(app, b) == 0
    page = client.get(f"/exchanges/{original}").get_data(as_text=True)
    assert "Reversed by" in page
    # Neither reads as it did: the original as simply "confirmed", the reversal as a gift.
    assert "Reversed: it no longer counts" in page and ">confirmed<" not in page
    reversal = int(response.headers["Location"].rsplit("/", 1)[1])
    shown = client.get(f"/exchanges/{reversal}").get_data(as_text=True)
    assert f"Correction: it takes back exchange #{original}" in shown
    again = submit(client, f"/exchanges/{original}/reverse", {"reason": "again"})
    assert again.status_code == 422 and "already reversed" in again.get_data(as_text=True)
    login(client, "ada.giver@example.org")
    assert f"Correction of exchange #{original}:" in client.get("/").get_data(as_text=True)


def test_outcome_form(client, app, make, login_as):
    me = login_as()
    giver = make.member()
    with app.app_context():
        exchange_id = ledger.record_exchange(
            giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(me)),
            minutes=60, service_date=clock.today(), recorded_by=get(me),
            idempotency_key="o", confirm=True).exchange.id
    page = client.get(f"/exchanges/{exchange_id}").get_data(as_text=True)
    assert "What difference did this make?" in page
    bad = submit(client, f"/exchanges/{exchange_id}/outcome", {"score": "9"},
                 page=f"/exchanges/{exchange_id}")
    assert bad.status_code == 422
    good = submit(client, f"/exchanges/{exchange_id}/outcome",
                  {"score": "4", "text": "I can get out again", "share": "y"},
                  page=f"/exchanges/{exchange_id}")
    assert good.status_code == 303
    with app.app_context():
        outcome = db.session.query(Outcome).one()
        assert (outcome.score, outcome.share_consent) == (4, True)


def _seed_history(app, me, other, n):
    with app.app_context():
        for i in range(n):
            ledger.record_exchange(
                giver=ledger.account_of(get(other if i % 2 else me)),
                receiver=ledger.account_of(get(me if i % 2 else other)),
                minutes=15 + i, service_date=clock.today() - timedelta(days=i),
                # The receiver records it: confirmed at once by the one who pays.
                recorded_by=get(me if i % 2 else other), idempotency_key=f"h{i}",
                confirm=True)


def test_statement_keyset_pages_and_running_balance(client, app, make, login_as):
    me = login_as()
    other = make.member(name="Partner")
    _seed_history(app, me, other, 30)
    first = client.get("/statement").get_data(as_text=True)
    assert first.count("<tr>") == 26  # header + 25 lines
    more = re.search(r'href="/statement\?before=(\d+)"', first)
    assert more
    second = client.get(f"/statement?before={more.group(1)}",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second and second.count("<tr>") == 5
    # Running balances: the oldest line's balance equals its own amount.
    rows = list(csv.reader(io.StringIO(client.get("/statement.csv").get_data(as_text=True))))
    assert rows[0][0] == "entry" and len(rows) == 31
    running = 0
    for row in rows[1:]:
        running += int(row[6])
        assert int(row[7]) == running
    assert running == balance_of(app, me)


def test_statement_query_count_is_bounded(client, app, make, login_as):
    """The statement page runs the same number of queries for 3 or 40 lines (no N+1)."""
    from sqlalchemy import event

    me = login_as()
    other = make.member()
    counts = []
    for n in (3, 37):
        with app.app_context():
            for i in range(n):
                ledger.record_exchange(
                    giver=ledger.account_of(get(other)), receiver=ledger.account_of(get(me)),
                    minutes=10, service_date=clock.today(), recorded_by=get(me),
                    idempotency_key=f"q{n}-{i}", confirm=True)
            engine = db.engine
        statements: list[str] = []

        def count(conn, cursor, statement, *args, _seen=statements):
            _seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        assert client.get("/statement").status_code == 200
        event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_csv_escapes_formulas(client, app, make, login_as):
    me = login_as()
    other = make.member(name="=HYPERLINK(1)")
    with app.app_context():
        ledger.record_exchange(
            giver=ledger.account_of(get(other)), receiver=ledger.account_of(get(me)),
            minutes=10, service_date=clock.today(), recorded_by=get(me),
            idempotency_key="csv", confirm=True, description="+cmd")
    text = client.get("/statement.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in text and "'+cmd" in text


def test_statement_reads_by_date_of_service_and_prints_the_whole_period(app, client, make,
                                                                        login_as):
    """Issue 13: the statement in order of service with a consistent running balance; the
    printed copy carries name, member number, bank and print date, and every line."""
    from datetime import timedelta

    me = login_as()
    other = make.member(name="Olu Other")
    with app.app_context():
        for n, days_ago in enumerate([3, 40, 10] + [20] * 30):  # recorded out of order
            ledger.record_exchange(
                giver=ledger.account_of(get(me)), receiver=ledger.account_of(get(other)),
                minutes=15, service_date=clock.today() - timedelta(days=days_ago),
                recorded_by=get(other), idempotency_key=f"order-{n}", confirm=True,
                description=f"job {n}")
    page = client.get("/statement").get_data(as_text=True)
    dates = re.findall(r'data-label="Date">(\d{4}-\d\d-\d\d)<', page)
    assert dates == sorted(dates, reverse=True) and len(dates) == 25
    balances = [int(h) * 60 + int(m or 0) for h, m in re.findall(
        r'data-label="Balance after">(\d+) h(?: (\d+) min)?<', page)]
    assert balances[0] == 33 * 15 and all(
        a - b == 15 for a, b in zip(balances, balances[1:], strict=False))
    more = re.search(r'href="(/statement\?before=\d+)"', page).group(1)
    rest = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    rest_balances = re.findall(r'data-label="Balance after">([^<]+)<', rest)
    assert len(rest_balances) == 8 and rest_balances[-1] == "15 min"
    printed = client.get("/statement/print").get_data(as_text=True)
    assert printed.count("job ") == 33  # the whole period, not a first page
    assert f"<dd>{me}</dd>" in printed and "Printed on" in printed and "Our time bank" in printed
    early = client.get("/statement/print", query_string={
        "start": (clock.today() - timedelta(days=25)).isoformat(),
        "end": (clock.today() - timedelta(days=5)).isoformat()}).get_data(as_text=True)
    assert early.count("job ") == 31 and "Brought forward" in early
    assert client.get("/statement/print?start=2026-05-01&end=2026-01-01").status_code == 422


def test_two_members_with_one_name_are_offered_to_choose_from(app, client, make, login_as):
    """Issue 13: without JavaScript, two members with the same name blocked recording."""
    login_as()
    first = make.member(name="Sam Smith")
    second = make.member(name="Sam Smith")
    with app.app_context():
        get(first).neighbourhood, get(second).neighbourhood = "Riverside", "Hillcrest"
        db.session.commit()
    response = submit(client, "/exchanges/new", record_form("sam smith"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "choose which one" in body
    picks = re.findall(r'type="radio" id="other-pick-(\d+)" name="other" value="([^"]+)"', body)
    assert sorted(int(i) for i, _v in picks) == sorted([first, second])
    assert "Hillcrest" in body and f"member number {second}" in body
    chosen = dict((int(i), v) for i, v in picks)[second]
    page = client.get("/exchanges/new").get_data(as_text=True)
    from tests.support import hidden_fields

    done = client.post("/exchanges/new", data={**hidden_fields(page),
                                               **record_form(chosen.replace("&#39;", "'"))})
    assert done.status_code == 303
    assert balance_of(app, second) == 0  # pending, but with the one chosen
    with app.app_context():
        exchange = db.session.query(Exchange).one()
        assert exchange.receiver.member_id == second


def test_a_name_with_an_accented_capital_can_be_typed_without_javascript(app, client, make,
                                                                         login_as):
    """Found by review: SQLite's lower() knew only ASCII, so "Élodie" never matched."""
    login_as()
    elodie = make.member(name="Élodie Durand")
    response = submit(client, "/exchanges/new", record_form("élodie durand"))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.query(Exchange).one().receiver.member_id == elodie


def test_all_exchanges_pages_reach_every_exchange_once(client, app, make, login_as):
    """The coordinator's list of all exchanges, newest first, a page at a time: every
    exchange on exactly one page, the last page without a link further."""
    from timebank.core.ledger.statements import EXCHANGES_PAGE

    login_as(Role.COORDINATOR)
    giver, receiver = make.member(name="Gwen Giver"), make.member(name="Rhys Receiver")
    _seed_history(app, giver, receiver, 2 * EXCHANGES_PAGE + 3)
    seen, url, pages = [], "/coordinator/exchanges", 0
    while url:
        page = client.get(url).get_data(as_text=True)
        pages += 1
        seen += [int(n) for n in re.findall(r'href="/exchanges/(\d+)"', page)]
        older = re.search(r'href="(/coordinator/exchanges\?before=\d+)"', page)
        url = older.group(1) if older else None
    assert pages == 3 and len(seen) == 2 * EXCHANGES_PAGE + 3
    assert seen == sorted(set(seen), reverse=True)


def test_all_exchanges_rows_name_both_sides_and_the_waiting_list_only_old_pending(
        app, client, make, login_as):
    """Each row of the bank's list names the giver and the receiver (a former member in
    the reader's language), the time, the status and a reversal; "waiting" lists only
    what has waited over a week for its confirmation."""
    from timebank.core.models import Member

    coordinator = login_as(Role.COORDINATOR)
    gwen, rhys = make.member(name="Gwen Giver"), make.member(name="Rhys Receiver")
    dana = make.member(name="Dana Departed")
    with app.app_context():
        def record(giver, receiver, minutes, key, confirm=True):
            return ledger.record_exchange(
                giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
                minutes=minutes, service_date=clock.today(), recorded_by=get(coordinator),
                idempotency_key=key, confirm=confirm).exchange.id

        done = record(gwen, rhys, 90, "all-1")
        undone = ledger.reverse_exchange(done, get(coordinator), "wrong", "all-2").exchange.id
        old = record(dana, gwen, 30, "all-3", confirm=False)
        fresh = record(rhys, dana, 45, "all-4", confirm=False)
        db.session.get(Exchange, old).created_at = utcnow() - timedelta(days=8)
        db.session.get(Member, dana).erased_at = utcnow()  # her name stays: the flag counts
        db.session.commit()
    page = client.get("/coordinator/exchanges").get_data(as_text=True)
    rows = re.findall(r'href="/exchanges/(\d+)">\d+</a></td>\s*<td data-label="Date">[^<]+'
                      r'</td><td data-label="Gave">([^<]+)</td><td data-label="Received">'
                      r'([^<]+)</td>\s*<td data-label="Time">([^<]+)</td><td data-label='
                      r'"Status">([^<]+)</td>', page)
    assert [(int(n), *rest) for n, *rest in rows] == [
        (fresh, "Rhys Receiver", "Former member", "45 min", "pending"),
        (old, "Former member", "Gwen Giver", "30 min", "pending"),
        (undone, "Rhys Receiver", "Gwen Giver", "1 h 30 min", "confirmed (reversal)"),
        (done, "Gwen Giver", "Rhys Receiver", "1 h 30 min", "confirmed")], rows
    assert "Dana" not in page
    welsh = client.get("/coordinator/exchanges", headers={"Accept-Language": "cy"})
    assert "Cyn-aelod" in welsh.get_data(as_text=True)
    waiting = client.get("/coordinator/exchanges?waiting=1").get_data(as_text=True)
    assert re.findall(r'href="/exchanges/(\d+)"', waiting) == [str(old)]


def test_statement_lines_name_the_other_party_what_it_was_and_corrections(app, client, make,
                                                                          login_as):
    """Each line names the other party (the receiver of what I gave, the giver of what I
    received), the description, else the kind of help, else "Exchange", and marks a
    correction; the page, the printed copy and the CSV say the same."""
    from timebank.core.models import Category

    me = login_as()
    coordinator = make.member(role="coordinator", name="Cora Ordinator")
    helper, helped = make.member(name="Hana Helper"), make.member(name="Ifan Helped")
    with app.app_context():
        garden = db.session.scalar(select(Category.id).where(Category.name == "Gardening"))
        ledger.record_exchange(
            giver=ledger.account_of(get(helper)), receiver=ledger.account_of(get(me)),
            minutes=30, service_date=clock.today(), recorded_by=get(me),
            idempotency_key="lines-1", confirm=True, category_id=garden)
        wrong = ledger.record_exchange(
            giver=ledger.account_of(get(me)), receiver=ledger.account_of(get(helped)),
            minutes=45, service_date=clock.today(), recorded_by=get(helped),
            idempotency_key="lines-2", confirm=True, description="Fixed a shelf")
        wrong_id = wrong.exchange.id
        ledger.reverse_exchange(wrong_id, get(coordinator), "wrong person", "lines-3")
        db.session.commit()
    undone = f"Reversal of exchange {wrong_id}"
    page = client.get("/statement").get_data(as_text=True)
    rows = re.findall(r'data-label="With">([^<]+)</td>\s*<td data-label="What"><a [^>]+>'
                      r'([^<]+)</a>([^<]*)</td>\s*<td class="num" data-label="In / out">'
                      r'([^<]+)<', page)
    assert sorted(rows) == sorted([
        ("Hana Helper", "Gardening", "", "−30 min"),
        ("Ifan Helped", "Fixed a shelf", "", "+45 min"),
        ("Ifan Helped", undone, " (correction)", "−45 min")]), rows
    printed = client.get("/statement/print").get_data(as_text=True)
    assert printed.count("Ifan Helped") == 2 and "Gardening" in printed
    assert f"{undone} (correction)" in printed
    lines = list(csv.reader(io.StringIO(client.get("/statement.csv").get_data(as_text=True))))
    assert sorted((row[3], row[4], row[5], row[6]) for row in lines[1:]) == sorted([
        ("Hana Helper", "Gardening", "", "-30"), ("Ifan Helped", "", "Fixed a shelf", "45"),
        ("Ifan Helped", "", undone, "-45")])


def test_a_payment_from_a_filled_in_link_is_checked_before_it_counts(client, login_as, make,
                                                                     app):
    """Issue 28, point 8: /exchanges/new?direction=received&other=… turned one click into
    a confirmed payment. From a link, paying first shows who is paid and how much, and
    only "Yes, pay" moves the time; a form the member filled in themselves is unchanged."""
    me = login_as(name="Pat Payer")
    other = make.member(name="Lou Linkmaker")
    page = f"/exchanges/new?direction=received&other=Lou+Linkmaker+(%23{other})"
    filled = client.get(page).get_data(as_text=True)
    assert 'name="opened_from" type="hidden" value="link"' in filled
    asked = submit(client, "/exchanges/new", {
        **record_form(f"Lou Linkmaker (#{other})", direction="received", hours=3, minutes=0),
        "opened_from": "link"}, page=page)
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Check before you pay" in body
    assert "You are about to pay Lou Linkmaker 3 h" in body
    assert balance_of(app, me) == 0 and balance_of(app, other) == 0
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    assert fields["checked"] == "yes" and fields["hours"] == "3"
    done = client.post("/exchanges/new", data=fields)
    assert done.status_code == 303
    assert balance_of(app, me) == -180 and balance_of(app, other) == 180
    # Sent again (the same key), nothing more moves.
    client.post("/exchanges/new", data=fields)
    assert balance_of(app, me) == -180


def test_recording_for_two_members_from_a_filled_in_link_is_checked_too(client, login_as,
                                                                        make, app):
    """Review, round two: the coordinators' form filled in by a link was confirmed at once
    too. It now shows who gave whom how much first."""
    login_as(Role.COORDINATOR)
    giver, receiver = make.member(name="Gwen Giver"), make.member(name="Rhys Receiver")
    page = (f"/coordinator/exchanges/new?giver=Gwen+Giver+(%23{giver})"
            f"&receiver=Rhys+Receiver+(%23{receiver})")
    fields = {k: v for k, v in record_form("x", hours=2, minutes=0).items()
              if k not in ("direction", "other")}
    asked = submit(client, "/coordinator/exchanges/new", {
        **fields, "giver": f"Gwen Giver (#{giver})", "receiver": f"Rhys Receiver (#{receiver})",
        "opened_from": "link"}, page=page)
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Gwen Giver gave Rhys Receiver 2 h" in body
    assert balance_of(app, giver) == 0
    checked = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    assert client.post("/coordinator/exchanges/new", data=checked).status_code == 303
    assert balance_of(app, giver) == 120 and balance_of(app, receiver) == -120


def test_the_home_page_shows_what_waits_on_you_and_on_others(client, app, make, login_as):
    """What waits for this member's word and what waits for others' is read in one
    statement of ids (a round trip on PostgreSQL) and one of the exchanges, each list
    under its own heading, oldest first."""
    from sqlalchemy import event

    me = login_as(name="Mo Member")
    olu = make.member(name="Olu Other", email="olu@example.org")
    for hours in (1, 2):  # Mo gave Olu: waits for Olu
        assert submit(client, "/exchanges/new", record_form(
            f"Olu Other (#{olu})", hours=hours, minutes=0)).status_code == 303
    submit(client, "/logout", {}, page="/profile")
    login(client, "olu@example.org")
    assert submit(client, "/exchanges/new", record_form(  # Olu gave Mo: waits for Mo
        f"Mo Member (#{me})", hours=3, minutes=0)).status_code == 303
    submit(client, "/logout", {}, page="/profile")
    with app.app_context():
        login(client, get(me).email)
        engine = db.engine
    seen: list[str] = []
    listener = lambda _c, _cur, statement, *_a: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page = client.get("/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    mine = page[page.index('id="awaiting-heading"'):page.index('id="others-heading"')]
    others = page[page.index('id="others-heading"'):]
    others = others[:others.index("</section>")]
    assert "Olu Other gave you 3 h" in mine and "for Olu Other" not in mine
    assert re.findall(r"(\d h) for Olu Other", others) == ["1 h", "2 h"]
    ids = [s for s in seen if s.startswith("SELECT anon_1.id, anon_1.part")]
    assert len(ids) == 1 and "UNION ALL" in ids[0], seen
    assert len([s for s in seen if s.startswith("SELECT exchange.id, exchange.bank_id")]) == 1

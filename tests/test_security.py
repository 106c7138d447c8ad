"""Found by an adversarial read (issue 12), each reproduced first: four eyes on staff's own
accounts, sessions that end at log-out, activity keys, and backups that restore."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from tests.support import (
    PASSWORD,
    TODAY,
    Gunicorn,
    RedisServer,
    flask_cli,
    get,
    hidden_fields,
    login,
    submit,
)
from timebank.core.ledger import writer as ledger
from timebank.core.models import Account, Exchange, Role
from timebank.infra import clock
from timebank.infra.extensions import db
from timebank.web.extensions import limiter
from timebank.web.tenancy import current_bank_id


@pytest.fixture
def staff_and_member(make):
    coordinator = make.member(Role.COORDINATOR, name="Cory Coordinator")
    member = make.member(name="Mel Member")
    return coordinator, member


# -- four eyes: nobody acts as staff on their own account ------------------------------------


def test_a_coordinator_cannot_credit_themselves_through_a_group_activity(app,
                                                                         staff_and_member):
    coordinator, member = staff_and_member
    with app.app_context():
        with pytest.raises(ledger.LedgerError, match="Another coordinator"):
            ledger.record_group_activity(
                participants=[get(coordinator), get(member)], to_pool=True, minutes=1440,
                service_date=TODAY, recorded_by=get(coordinator), idempotency_key="self-pay")
        assert ledger.account_of(get(coordinator)).balance == 0


def test_a_coordinator_cannot_record_a_confirmed_exchange_they_give_in(app, client,
                                                                        staff_and_member):
    coordinator, member = staff_and_member
    with app.app_context():
        email = get(coordinator).email
    login(client, email)
    response = submit(client, "/coordinator/exchanges/new", {
        "giver": f"Cory Coordinator (#{coordinator})", "receiver": f"Mel Member (#{member})",
        "hours": "24", "extra_minutes": "0", "service_date": TODAY.isoformat(),
        "category": "0"})
    assert response.status_code == 422
    assert "Another coordinator must record" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Exchange).count() == 0
        assert ledger.account_of(get(member)).balance == 0


def test_a_coordinator_cannot_confirm_time_they_gave_on_the_receivers_behalf(
        app, staff_and_member):
    coordinator, member = staff_and_member
    with app.app_context():
        pending = ledger.record_exchange(
            giver=ledger.account_of(get(coordinator)), receiver=ledger.account_of(get(member)),
            minutes=300, service_date=TODAY, recorded_by=get(coordinator),
            idempotency_key=ledger.new_key(), confirm=False).exchange
        with pytest.raises(ledger.LedgerError, match="Only the person who received"):
            ledger.confirm_exchange(pending.id, get(coordinator))
        ledger.confirm_exchange(pending.id, get(member))  # the member may, as any member
        assert ledger.account_of(get(member)).balance == -300


def test_limits_are_changed_by_someone_else(app, make, staff_and_member):
    coordinator, member = staff_and_member
    admin = make.member(Role.ADMIN)
    with app.app_context():
        own = ledger.account_of(get(coordinator))
        with pytest.raises(ledger.LedgerError, match="Another coordinator"):
            ledger.set_floor(own.id, -100_000, get(coordinator))
        with pytest.raises(ledger.LedgerError, match="Only an admin"):
            ledger.set_floor(ledger.account_of(get(admin)).id, -100_000, get(coordinator))
        # Below the bank's limit (10 h), a second person agrees; never the one asking.
        with pytest.raises(ledger.SecondNeeded):
            ledger.set_floor(ledger.account_of(get(member)).id, -1200, get(coordinator))
        with pytest.raises(ledger.LedgerError, match="Another coordinator must agree"):
            ledger.set_floor(ledger.account_of(get(member)).id, -1200, get(coordinator),
                             second=get(coordinator))
        ledger.set_floor(ledger.account_of(get(member)).id, -1200, get(coordinator),
                         second=get(admin))
        ledger.set_floor(own.id, -600, get(admin))
        assert db.session.get(Account, own.id).floor == -600


def test_a_coordinator_cannot_reverse_an_exchange_they_took_part_in(app, make,
                                                                     staff_and_member):
    coordinator, member = staff_and_member
    with app.app_context():
        done = ledger.record_exchange(
            giver=ledger.account_of(get(member)), receiver=ledger.account_of(get(coordinator)),
            minutes=60, service_date=TODAY, recorded_by=get(coordinator),
            idempotency_key=ledger.new_key(), confirm=True).exchange
        with pytest.raises(ledger.LedgerError, match="Another coordinator must reverse"):
            ledger.reverse_exchange(done.id, get(coordinator), "mine", ledger.new_key())


# -- sessions end on the server ---------------------------------------------------------------


def test_a_cookie_kept_from_before_log_out_no_longer_works(app, client, make):
    member = make.member(email="cookie@example.org")
    login(client, "cookie@example.org")
    saved = client.get_cookie("session").value
    assert client.get("/statement").status_code == 200
    client.post("/logout", data=hidden_fields(client.get("/").get_data(as_text=True)))
    client.set_cookie("session", saved)  # the attacker's copy of the old cookie
    assert client.get("/statement").status_code == 302
    with app.app_context():
        assert get(member).session_version == 1


def test_reactivation_does_not_revive_sessions_from_before_suspension(app, client, make,
                                                                       login_as):
    member = make.member(email="paused@example.org")
    login(client, "paused@example.org")
    saved = client.get_cookie("session").value
    with app.app_context():
        from timebank.core.members.service import change_status

        admin = get(make.member(Role.ADMIN))
        bank_id = current_bank_id()
        change_status(get(member), "suspend", admin, bank_id, "Testing the session")
        change_status(get(member), "reactivate", admin, bank_id)
    client.set_cookie("session", saved)
    assert client.get("/statement").status_code == 302


def test_the_csrf_token_changes_at_log_in(client, make):
    make.member(email="token@example.org")
    before = hidden_fields(client.get("/login").get_data(as_text=True))["csrf_token"]
    client.post("/login", data={"csrf_token": before, "email": "token@example.org",
                                "password": PASSWORD})
    after = hidden_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    assert before != after
    # ...and the old one is refused from now on.
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400


# -- group activity keys ------------------------------------------------------------------------


def test_activity_keys_sharing_their_first_40_characters_are_two_activities(app, make):
    coordinator = make.member(Role.COORDINATOR)
    walker = make.member()
    with app.app_context():
        for key in ("k" * 40 + "-first", "k" * 40 + "-second"):
            made, created = ledger.record_group_activity(
                participants=[get(walker)], to_pool=True, minutes=60, service_date=TODAY,
                recorded_by=get(coordinator), idempotency_key=key)
            assert created and len(made) == 1
        assert ledger.account_of(get(walker)).balance == 120


# -- backups --------------------------------------------------------------------------------------


def test_backup_then_restore_into_a_new_database(app, db_url, make, db_kind, tmp_path,
                                                 fresh_db):
    giver, receiver = make.member(), make.member()
    with app.app_context():
        for minutes in (30, 45, 60):
            ledger.record_exchange(
                giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
                minutes=minutes, service_date=TODAY, recorded_by=get(receiver),
                idempotency_key=ledger.new_key(), confirm=True)
        db.session.remove()
    counts = flask_cli(db_url, "check-ledger").stdout
    file = tmp_path / "timebank.infra.backup"
    made = flask_cli(db_url, "backup", str(file))
    assert made.returncode == 0, made.stderr
    again = flask_cli(db_url, "backup", str(file))
    assert again.returncode != 0 and "already exists" in again.stderr
    fresh = fresh_db("timebank_restored")
    restored = flask_cli(fresh, "restore", str(file))
    assert restored.returncode == 0, restored.stderr
    check = flask_cli(fresh, "check-ledger")
    assert check.returncode == 0, check.stderr
    assert re.search(r"ledger OK: 3 exchanges", check.stdout)
    assert check.stdout == counts  # the same exchanges and accounts
    twice = flask_cli(fresh, "restore", str(file))
    assert twice.returncode != 0 and "not empty" in twice.stderr
    from sqlalchemy import create_engine

    from timebank.infra.db import normalise_url

    versions = "SELECT name, version, serial, epoch FROM data_version ORDER BY name"
    with app.app_context():
        before = db.session.execute(text(versions)).all()
    engine = create_engine(normalise_url(fresh))
    with engine.connect() as conn:
        after = conn.execute(text(versions)).all()
        if db_kind == "postgresql":  # set again: a dump holds no database-wide setting
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        # The same versions and counts, in a new epoch: a worker that built from the
        # old history never brings that up to date from this one.
        assert [row[:3] for row in after] == [row[:3] for row in before] and before
        assert not {row[3] for row in after} & {row[3] for row in before}
        if db_kind == "postgresql":  # sequences carried over: new rows do not collide
            assert conn.execute(text("SELECT last_value FROM exchange_id_seq")).scalar() >= 3
    engine.dispose()


# -- what others may read -----------------------------------------------------------------------


def test_council_viewers_do_not_see_reviewers_names(app, client, make, login_as):
    from timebank.core.models import Asset, AssetCategory, AssetReview

    reviewer = make.member(name="Rhodri Reviewer")
    with app.app_context():
        asset = Asset(name="Hall", status="published", latitude=51.5, longitude=-0.1,
                      category_id=db.session.query(AssetCategory).first().id)
        db.session.add(asset)
        db.session.flush()
        db.session.add(AssetReview(asset_id=asset.id, member_id=reviewer, still_there=True,
                                   welcoming=4, accessible="yes", comment=""))
        db.session.commit()
        asset_id = asset.id
    login_as(Role.COUNCIL)
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "Rhodri Reviewer" not in page and "A resident" in page


def test_the_giver_sees_an_outcomes_words_only_if_the_receiver_shared_them(app, client, make):
    giver, receiver = make.member(email="g@example.org"), make.member(email="r@example.org")
    with app.app_context():
        kept = ledger.record_exchange(
            giver=ledger.account_of(get(giver)), receiver=ledger.account_of(get(receiver)),
            minutes=60, service_date=TODAY, recorded_by=get(receiver),
            idempotency_key=ledger.new_key(), confirm=True).exchange.id
        ledger.add_outcome(kept, get(receiver), 4, "private: my health is better", False)
    login(client, "g@example.org")
    assert "my health" not in client.get(f"/exchanges/{kept}").get_data(as_text=True)
    login(client, "r@example.org")
    assert "my health" in client.get(f"/exchanges/{kept}").get_data(as_text=True)


# -- rate limits shared by every worker (issue 12) ------------------------------------------


def _login_attempts(base: str, n: int) -> list[int]:
    """``n`` wrong log-ins, four at a time, each on its own connection (any worker)."""
    import requests

    def attempt(i: int) -> int:
        with requests.Session() as session:
            session.headers["Connection"] = "close"
            page = session.get(base + "/login", timeout=30).text
            return session.post(base + "/login", timeout=30, allow_redirects=False, data={
                **hidden_fields(page), "email": f"guess{i}@example.org",
                "password": "wrong-password!"}).status_code

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(attempt, range(n)))


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_the_login_limit_holds_across_two_gunicorn_workers_with_redis(tmp_path, storage):
    """With Redis the limit counts across workers; with memory:// (the single-process
    default) each worker counts alone, so two workers let through more: the test can tell."""
    url = f"sqlite:///{tmp_path}/limits.sqlite"  # the limiter never touches the database
    assert flask_cli(url, "db", "upgrade").returncode == 0
    with RedisServer() as redis:
        uri = redis.url if storage == "redis" else "memory://"
        with Gunicorn(url, workers=2, threads=1, TIMEBANK_RATELIMIT_ENABLED="1",
                      TIMEBANK_RATELIMIT_STORAGE_URI=uri, TIMEBANK_RATELIMIT_PER_WORKER="1",
                      TIMEBANK_LOGIN_RATE="6 per hour",
                      TIMEBANK_LOGIN_RATE_PER_EMAIL="100 per hour") as server:
            statuses = _login_attempts(server.url, 16)
            workers = server.workers_for("POST", "/login")
        assert len(workers) == 2, "both workers must have answered log-ins"
        allowed = statuses.count(422)
        assert set(statuses) <= {422, 429}, statuses
        if storage == "redis":
            assert allowed == 6, statuses
            assert any(b"login" in key.lower() or b"limiter" in key.lower()
                       for key in redis.client().keys("*"))
        else:
            assert allowed > 6, statuses


def test_several_workers_with_per_worker_limits_refuse_to_start(tmp_path):
    """Issue 28, point 8: with memory:// each of several workers counts alone, so anyone
    on a shared address could block everyone's log-in (and attackers got more tries).
    gunicorn refuses to start so, unless told it is meant."""
    url = f"sqlite:///{tmp_path}/limits.sqlite"
    many = Gunicorn(url, workers=2, threads=1, TIMEBANK_RATELIMIT_ENABLED="1",
                    TIMEBANK_RATELIMIT_STORAGE_URI="memory://")
    with pytest.raises(RuntimeError, match="Point it at Redis"), many:
        pass
    assert flask_cli(url, "db", "upgrade").returncode == 0
    with Gunicorn(url, workers=1, threads=1, TIMEBANK_RATELIMIT_ENABLED="1",
                  TIMEBANK_RATELIMIT_STORAGE_URI="memory://") as one:
        assert requests.get(one.url + "/healthz", timeout=5).status_code == 200


def test_hsts_is_sent_exactly_when_cookies_are_secure(db_url):
    """Issue 28, point 8: secure cookies but no HSTS left the first visit over plain HTTP
    open to a downgrade."""
    from tests.support import build_app

    answers = {}
    for secure in (True, False):  # (tests' cookies are not secure by default)
        site = build_app(db_url, SESSION_COOKIE_SECURE=secure)
        answers[secure] = site.test_client().get("/healthz").headers
        with site.app_context():
            db.engine.dispose()  # its connections close now, not when collected
    assert answers[True]["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains")
    assert "Strict-Transport-Security" not in answers[False]


# -- CSRF on every POST route, enumerated from the URL map (issue 12) -----------------------


@pytest.mark.parametrize("role", [None, Role.RESIDENT, Role.ADMIN])
def test_every_post_route_refuses_a_request_without_a_valid_token(app, client, make,
                                                                   login_as, role):
    from tests.support import route_urls

    if role is not None:
        login_as(role)
    good = hidden_fields(client.get("/profile" if role else "/login").get_data(
        as_text=True))["csrf_token"]
    ids = {"member_id": 1, "exchange_id": 1, "match_id": 1, "listing_id": 1, "asset_id": 1,
           "item_id": 1, "bank_id": 1, "activity_id": "x", "token": "x"}
    with app.app_context():
        from timebank.core.models import AuditEvent, Member

        before = (db.session.query(Member).count(), db.session.query(AuditEvent).count())
    posts = 0
    for _rule, method, path in route_urls(app, ids, bank="our-time-bank"):
        if method != "POST":
            continue
        posts += 1
        # The real token with one character of its signature changed, always (putting "xx"
        # in place of the last two was the real token once in 4,096 runs). Not the last
        # character: its low bits are padding, and another letter can decode the same.
        tampered = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
        for data, headers in (({}, {}), ({"csrf_token": "forged"}, {}),
                              ({"csrf_token": tampered}, {}),
                              ({}, {"HX-Request": "true", "X-CSRFToken": "forged"})):
            response = client.post(path, data={"email": "a@b.org", **data}, headers=headers)
            if path == "/sms/inbound":
                # The SMS gateway posts no form of ours: no CSRF token, but its signature
                # (X-Twilio-Signature), without which nothing is done (test_texts).
                assert response.status_code == 403, (path, data, response.status_code)
                continue
            assert response.status_code == 400, (path, data, headers, response.status_code)
            assert "expired" in response.get_data(as_text=True), path
    assert posts >= 30
    if role is not None:
        assert client.get("/profile").status_code == 200  # still logged in: nothing ran
    with app.app_context():
        after = (db.session.query(Member).count(), db.session.query(AuditEvent).count())
        assert after == before


# -- the audit trail (issue 12) ---------------------------------------------------------------


def test_admins_search_the_audit_trail_and_download_it(app, client, make, login_as):
    from timebank.core.models import AuditEvent

    coordinator = make.member(Role.COORDINATOR, name="Cora Coordinator")
    pending = make.member(status="pending", name="Pat Pending")
    with app.app_context():
        from timebank.core.models.audit import record

        record(coordinator, "member.approve", "member", pending)
        record(coordinator, "exchange.reverse", "exchange", 7, reason="typo")
        record(None, "member.reset_requested", "member", pending)
        db.session.commit()
    login_as(Role.RESIDENT)
    assert client.get("/admin/audit").status_code == 403
    login_as(Role.ADMIN)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "member.approve" in page and "exchange.reverse" in page
    only = client.get("/admin/audit", query_string={"who": "cora", "object_type": "exchange"})
    body = only.get_data(as_text=True)
    assert only.status_code == 200
    assert "exchange.reverse" in body and "member.approve" not in body and "reason=typo" in body
    by_action = client.get("/admin/audit?action=reset").get_data(as_text=True)
    assert "member.reset_requested" in by_action and "member.approve" not in by_action
    today = clock.today().isoformat()
    assert "member.approve" not in client.get(
        "/admin/audit?until=2000-01-01&since=1999-01-01").get_data(as_text=True)
    assert "member.approve" in client.get(f"/admin/audit?since={today}").get_data(as_text=True)
    assert client.get("/admin/audit?since=not-a-date").status_code == 400
    csv = client.get("/admin/audit.csv?who=cora")
    text = csv.get_data(as_text=True)
    assert csv.mimetype == "text/csv" and text.splitlines()[0].startswith('"id"')
    assert "exchange.reverse" in text and "member.reset_requested" not in text
    with app.app_context():  # the download is itself on the trail
        assert db.session.query(AuditEvent).filter_by(action="audit.export").count() == 1


def test_odd_audit_filters_are_refused_or_ignored_never_a_500(client, login_as):
    login_as(Role.ADMIN)
    for query in ("who=%C2%B2", "who=99999999999999999999", "_method=DELETE",
                  "_anchor=x&bank=zz", "object_id=-1", "since=2026-13-01"):
        for url in ("/admin/audit?", "/admin/audit.csv?"):
            response = client.get(url + query)
            response.close()
            assert response.status_code in (200, 400), (url, query)
    page = client.get("/admin/audit?_anchor=evil&who=ada").get_data(as_text=True)
    assert 'href="/admin/audit.csv?who=ada"' in page  # only validated filters reach links


def test_redis_down_closes_logging_in_and_keeps_pages_open(app, client, make, caplog):
    """The rate limits' store goes away: logging in, joining and password resets are
    refused in words (503) and the log says why; someone already logged in goes on
    reading, and the open data is served; with Redis back, logging in works again."""
    make.member(email="redis-down@example.org")
    newcomer = app.test_client()
    redis = RedisServer().__enter__()
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis.url)
    limiter.init_app(app)  # (the store is chosen as the app starts)
    try:
        assert login(client, "redis-down@example.org").status_code == 302
    finally:
        redis.__exit__()
    with caplog.at_level(logging.WARNING):
        refused = login(newcomer, "redis-down@example.org")
        assert refused.status_code == 503
        assert "paused for a few minutes" in refused.get_data(as_text=True)
        assert "rate limits cannot be counted" in caplog.text
        assert submit(newcomer, "/password/forgot",
                      {"email": "redis-down@example.org"}).status_code == 503
        for page in ("/", "/listings", "/statement", "/api/hsds/services"):  # reading: open
            assert client.get(page).status_code == 200, page
    with RedisServer() as again:
        app.config["RATELIMIT_STORAGE_URI"] = again.url
        limiter.init_app(app)
        assert login(newcomer, "redis-down@example.org").status_code == 302

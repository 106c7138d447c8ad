"""The files an operator deploys with: compose.yaml checked against the Compose
specification's own JSON schema (vendored from compose-spec/compose-spec, Apache-2.0, in
tests/fixtures/compose-spec/; no Docker daemon here), and the Dockerfile against the
hadolint rules that apply to it, checked here (Debian does not package hadolint, and
nothing may be fetched at test time: the rule numbers are hadolint's)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import psycopg
import pytest
import requests
import yaml
from jsonschema import Draft7Validator

from tests.support import (
    PASSWORD,
    ROOT,
    Gunicorn,
    RedisServer,
    app_env,
    flask_cli,
    hidden_fields,
    logged_in_session,
    record_form,
)

SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification():
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    compose = _compose()
    assert [e.message for e in validator.iter_errors(compose)] == []
    # The schema really checks: a mistyped file is refused.
    broken = {**compose, "services": {**compose["services"], "app": {
        **compose["services"]["app"], "ports": 8000, "restart": ["always"]}}}
    assert len(list(validator.iter_errors(broken))) >= 2
    services = compose["services"]
    # The parts of the production stack, each its own process.
    assert set(services) >= {"db", "redis", "migrate", "app", "worker"}
    assert services["worker"]["command"][-1] == "run-jobs"
    assert services["worker"]["environment"]["TIMEBANK_BACKUP_DIR"] == "/backups"
    env = services["app"]["environment"]
    assert env["TIMEBANK_RATELIMIT_STORAGE_URI"].startswith("redis://redis")
    assert "@db:5432/" in env["TIMEBANK_DATABASE_URL"]
    assert "/readyz" in " ".join(services["app"]["healthcheck"]["test"])
    assert services["app"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_follows_the_hadolint_rules_that_apply():
    steps = _instructions()
    kinds = [kind for kind, _rest in steps]
    base = dict(steps)["FROM"]
    assert ":" in base and not base.endswith(":latest")  # DL3006/DL3007: a pinned tag
    assert "ADD" not in kinds  # DL3020: COPY, not ADD
    assert kinds.count("CMD") == 1 and dict(steps)["CMD"].startswith("[")  # DL3025: JSON
    assert "HEALTHCHECK" in kinds
    # DL3002: the last USER is not root, and it comes before the command.
    users = [rest for kind, rest in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("CMD")
    for kind, rest in steps:
        if kind != "RUN":
            continue
        assert "sudo " not in rest  # DL3004
        if "apt-get install" in rest:  # DL3014, DL3015, DL3009
            assert " -y" in rest and "--no-install-recommends" in rest
            assert "rm -rf /var/lib/apt/lists/*" in rest
        if "pip install" in rest:  # DL3042: no pip cache in the image
            assert "--no-cache-dir" in rest or "PIP_NO_CACHE_DIR=1" in dict(steps)["ENV"]
        assert not re.search(r"\bcd\b", rest)  # DL3003: WORKDIR, not cd


# -- the production stack in one test -----------------------------------------------------


def _run_job(env: dict, *names: str) -> None:
    """The job runner, as its own process, for these jobs now (as its schedule would)."""
    command = [sys.executable, "-m", "flask", "--app", "timebank", "run-jobs"]
    for name in names:
        command += ["--job", name]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _mail_paths(inbox, to: str) -> list[str]:
    return [path for message in inbox.messages if message["To"] == to
            for path in re.findall(r"https?://[^/\s]+(/\S+)", _body(message))]


def _body(message) -> str:
    return message.get_payload(decode=True).decode()


@pytest.mark.slow
def test_a_newcomers_journey_through_the_production_stack(pg_server, smtp):
    """gunicorn (gunicorn.conf.py, two workers), PostgreSQL, Redis (rate limits on) and
    the job runner, each its own process: register → confirm the address from the
    e-mail (through SMTP) → a coordinator approves → record an hour → it is confirmed →
    the weekly digest tells them."""
    inbox, smtp_port = smtp
    url = pg_server.createdb("timebank_stack")
    assert flask_cli(url, "db", "upgrade").returncode == 0
    made = flask_cli(url, "create-user", "--email", "cora@example.org", "--role",
                     "coordinator", "--name", "Cora Coordinator", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    with RedisServer() as redis:
        settings = {"TIMEBANK_RATELIMIT_ENABLED": "1",
                    "TIMEBANK_RATELIMIT_STORAGE_URI": redis.url,
                    "TIMEBANK_MAIL_HOST": "127.0.0.1", "TIMEBANK_MAIL_PORT": str(smtp_port),
                    "TIMEBANK_METRICS_TOKEN": "stack-" + "t" * 30}
        with Gunicorn(url, workers=2, threads=4, **settings) as web:
            jobs_env = app_env(url, **settings, TIMEBANK_BASE_URL=web.url)
            newcomer = requests.Session()
            page = newcomer.get(web.url + "/register", timeout=30).text
            joined = newcomer.post(web.url + "/register", allow_redirects=False, timeout=30,
                                   data={**hidden_fields(page), "email": "nia@example.org",
                                         "display_name": "Nia Newcomer",
                                         "neighbourhood": "Riverside",
                                         "password": "a-long-password",
                                         "confirm": "a-long-password", "accept": "y"})
            assert joined.status_code == 302, joined.text[:500]
            _run_job(jobs_env, "send-mail")
            (confirm,) = [p for p in _mail_paths(inbox, "nia@example.org") if "/confirm/" in p]
            button = newcomer.get(web.url + confirm, timeout=30)  # (a scanner stops here)
            assert button.status_code == 200
            pressed = newcomer.post(web.url + confirm, data=hidden_fields(button.text),
                                    allow_redirects=False, timeout=30)
            assert pressed.status_code == 303, pressed.text[:500]
            coordinator = logged_in_session(web.url, "cora@example.org", PASSWORD)
            libpq = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(libpq) as conn:
                nia, cora = (conn.execute("SELECT id FROM member WHERE email = %s",
                                          (email,)).fetchone()[0]
                             for email in ("nia@example.org", "cora@example.org"))
            listed = coordinator.get(f"{web.url}/coordinator/members/{nia}", timeout=30).text
            assert "Nia Newcomer" in listed
            approved = coordinator.post(
                f"{web.url}/coordinator/members/{nia}/approve", allow_redirects=False,
                data=hidden_fields(listed), timeout=30)
            assert approved.status_code in (302, 303), approved.text[:500]
            member = logged_in_session(web.url, "nia@example.org", "a-long-password")
            form = member.get(web.url + "/exchanges/new", timeout=30).text
            recorded = member.post(web.url + "/exchanges/new", allow_redirects=False,
                                   timeout=30, data={
                                       **hidden_fields(form), **record_form(
                                           f"Cora Coordinator (#{cora})", hours=1, minutes=0,
                                           description="Sorted the seed library")})
            assert recorded.status_code == 303, recorded.text[:800]
            exchange = int(recorded.headers["Location"].rsplit("/", 1)[1])
            home = coordinator.get(web.url + "/", timeout=30).text
            confirmed = coordinator.post(f"{web.url}/exchanges/{exchange}/confirm",
                                         data={"csrf_token": hidden_fields(home)["csrf_token"]},
                                         allow_redirects=False, timeout=30)
            assert confirmed.status_code in (302, 303)
            with psycopg.connect(libpq) as conn:  # the hour is hers to spend
                assert conn.execute("SELECT balance FROM account WHERE member_id = %s",
                                    (nia,)).fetchone()[0] == 60
            # Weekly news: Nia chose it; the runner queues her digest and sends it.
            profile = member.get(web.url + "/profile", timeout=30).text
            with psycopg.connect(libpq) as conn:
                conn.execute("UPDATE member SET email_preference = 'weekly' WHERE id = %s",
                             (nia,))
            _run_job(jobs_env, "send-digests", "send-mail")
            digests = [m for m in inbox.messages if m["To"] == "nia@example.org"
                       and "Sorted the seed library" in _body(m)]
            assert digests, [m["Subject"] for m in inbox.messages]
            metrics = requests.get(web.url + "/metrics", timeout=30, headers={
                "Authorization": "Bearer " + settings["TIMEBANK_METRICS_TOKEN"]}).text
            assert 'route="/register"' in metrics, metrics[:3000]
            beat = float(re.search(r"^timebank_jobs_heartbeat_age_seconds (\S+)$", metrics,
                                   re.M).group(1))
            assert 0 <= beat < 120  # the runner's separate processes reported in
            assert profile and "Traceback" not in web.output()
    check = flask_cli(url, "check-ledger")
    assert check.returncode == 0, check.stdout + check.stderr

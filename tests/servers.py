"""Run the real app under gunicorn on a loopback port (concurrency tests and benchmarks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent


def app_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBANK_")}
    env.update({
        "TIMEBANK_DATABASE_URL": db_url,
        "TIMEBANK_SECRET_KEY": "gunicorn-test-secret-" + "x" * 20,
        "TIMEBANK_COOKIE_SECURE": "0",
        "TIMEBANK_RATELIMIT_ENABLED": "0",
    })
    env.update(extra)
    return env


def flask_cli(db_url: str, *args: str, stdin: str | None = None, timeout: int = 600):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "timebank", *args],
                          cwd=ROOT, env=app_env(db_url), input=stdin, capture_output=True,
                          text=True, timeout=timeout)


class Gunicorn:
    def __init__(self, db_url: str, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads",
             str(threads), "--worker-class", "gthread", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "120", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=app_env(db_url), stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


def hidden(html: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in HIDDEN.findall(html):
        found.setdefault(name, value)
    return found


def logged_in_session(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=30).text
    response = session.post(base + "/login", data={**hidden(page), "email": email,
                                                   "password": password},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:300]
    return session


def clone(session: requests.Session) -> requests.Session:
    twin = requests.Session()
    twin.cookies.update(session.cookies)
    return twin

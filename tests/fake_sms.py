"""A small local HTTP server that speaks Twilio's Messages API, and a signer that plays
the gateway posting incoming texts to the site.

``FakeGateway`` answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` as Twilio does
(HTTP basic auth with the account SID and token; 201 and a JSON message resource), and
keeps every text it was given. It can be told to answer 503 (try again) or 400 (never).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.support import ThreadedServer
from timebank.infra.sms import twilio_signature

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token-not-secret"
OUR_NUMBER = "+447700900000"


class FakeGateway(ThreadedServer):
    def __init__(self, account: str = ACCOUNT, token: str = TOKEN):
        self.account, self.token = account, token
        self.sent: list[dict[str, str]] = []
        self.mode = "ok"  # ok | 503 | 400
        self.lock = threading.Lock()
        ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                expected = f"/2010-04-01/Accounts/{fake.account}/Messages.json"
                auth = "Basic " + base64.b64encode(
                    f"{fake.account}:{fake.token}".encode()).decode()
                if self.path != expected:
                    return self._send(404, {"code": 20404, "message": "Not found"})
                if self.headers.get("Authorization") != auth:
                    return self._send(401, {"code": 20003, "message": "Authenticate"})
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if fake.mode == "503":
                    return self._send(503, {"code": 20500, "message": "Unavailable"})
                if fake.mode == "400" or not form.get("To", "").startswith("+"):
                    return self._send(400, {"code": 21211, "message": "Invalid 'To'"})
                with fake.lock:
                    fake.sent.append(form)
                    sid = f"SM{next(ids):032x}"
                self._send(201, {"sid": sid, "status": "queued", "to": form["To"],
                                 "from": form.get("From"), "body": form.get("Body")})

            def _send(self, status: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler))

    def to(self, number: str) -> list[str]:
        """The bodies of the texts sent to ``number``, in order."""
        with self.lock:
            return [m["Body"] for m in self.sent if m["To"] == number]

    def config(self) -> dict:
        return {"TIMEBANK_SMS_API_URL": self.url, "TIMEBANK_SMS_ACCOUNT_SID": self.account,
                "TIMEBANK_SMS_AUTH_TOKEN": self.token, "TIMEBANK_SMS_FROM": OUR_NUMBER,
                "TIMEBANK_BASE_URL": "https://bank.example.org"}


SIDS = itertools.count(1)


def incoming(client, sender: str, body: str, *, token: str = TOKEN, sid: str | None = None,
             base: str = "https://bank.example.org", forge: bool = False):
    """Post a text as the gateway does: a form signed with X-Twilio-Signature."""
    form = {"From": sender, "To": OUR_NUMBER, "Body": body, "AccountSid": ACCOUNT,
            "MessageSid": sid or f"SM{next(SIDS):032x}", "NumMedia": "0"}
    signature = twilio_signature(base + "/sms/inbound", form.items(), token)
    if forge:
        signature = twilio_signature(base + "/sms/inbound", form.items(), "not-the-token")
    return client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})

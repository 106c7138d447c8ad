"""Text-message gateways behind one interface, and the webhook signature they use.

The domain queues texts and reads incoming ones; it never knows which company carries
them. A gateway is anything with ``send(to, body) -> str`` (the gateway's id for the
message) that raises ``GatewayError`` saying whether trying again may help.

Twilio's Messages API is the first adapter, and any service speaking it (the local
fake the tests run, Twilio-compatible providers). Others fit the same shape: Vonage's
SMS API is a JSON ``POST https://rest.nexmo.com/sms/json`` with ``api_key``,
``api_secret``, ``from``, ``to`` and ``text``, and signs its inbound webhooks with a
``sig`` parameter; GOV.UK Notify sends with ``POST /v2/notifications/sms`` (a JWT
bearer token, a template id and personalisation) and receives through its own
callback. Each would be one more class here and a setting to choose it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping

import phonenumbers


class GatewayError(Exception):
    """A text the gateway did not take. ``temporary``: worth trying again later."""

    def __init__(self, message: str, temporary: bool = True):
        super().__init__(message)
        self.temporary = temporary


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's request signature: the full URL, then each posted key followed by its
    value, keys sorted (a key sent twice: its values sorted too); HMAC-SHA1 keyed with
    the account's auth token; base64."""
    data = url + "".join(key + value for key, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str,
                    given: str | None) -> bool:
    """Does ``given`` sign this request? False without a token: nothing is trusted."""
    if not auth_token or not given:
        return False
    return hmac.compare_digest(twilio_signature(url, params, auth_token).encode(),
                               given.strip().encode())


def e164(text: str, region: str = "GB") -> str | None:
    """A mobile number as typed ("07700 900123", "+44 7700 900123") in E.164, read in
    ``region`` when it has no country code; None when it is no possible number."""
    text = (text or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, (region or "GB").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class TwilioGateway:
    """``POST {api}/2010-04-01/Accounts/{sid}/Messages.json`` with From, To, Body and
    HTTP basic auth (account SID and auth token)."""

    def __init__(self, api_url: str, account_sid: str, auth_token: str, sender: str,
                 timeout: float = 10.0):
        if urllib.parse.urlsplit(api_url).scheme not in ("http", "https"):
            raise ValueError("TIMEBANK_SMS_API_URL must be an http(s) URL")
        self.url = (f"{api_url.rstrip('/')}/2010-04-01/Accounts/"
                    f"{urllib.parse.quote(account_sid)}/Messages.json")
        self.auth = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.sender = sender
        self.timeout = timeout

    def send(self, to: str, body: str) -> str:
        data = urllib.parse.urlencode({"From": self.sender, "To": to, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=data, method="POST", headers={  # noqa: S310 (http(s) only: __init__)
            "Authorization": f"Basic {self.auth}",
            "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                payload = answer.read(65536)
        except urllib.error.HTTPError as error:
            # 4xx: this message will never go (a bad number, a refused sender); 429 and
            # 5xx: the gateway is busy or down, so try again later.
            temporary = error.code == 429 or error.code >= 500
            detail = error.read(2000).decode("utf-8", "replace")
            raise GatewayError(f"HTTP {error.code}: {detail}", temporary) from None
        except (OSError, ValueError, http.client.HTTPException) as error:
            raise GatewayError(str(error) or type(error).__name__) from None
        try:
            return str(json.loads(payload).get("sid") or "")[:64]
        except (ValueError, AttributeError):
            return ""


def gateway_from(config: Mapping) -> TwilioGateway | None:
    """The configured gateway, or None when texts are not set up (they stay queued)."""
    url, sid = config.get("TIMEBANK_SMS_API_URL"), config.get("TIMEBANK_SMS_ACCOUNT_SID")
    token = config.get("TIMEBANK_SMS_AUTH_TOKEN")
    if not (url and sid and token and config.get("TIMEBANK_SMS_FROM")):
        return None
    return TwilioGateway(url, sid, token, config["TIMEBANK_SMS_FROM"])

"""A local fake of the part of Twilio's REST API that ``client.messages.create`` uses.

Point ``TWILIO_API_BASE`` at :attr:`FakeTwilio.url`; the real SDK then sends its
requests here, with its own auth and response parsing.
"""
from __future__ import annotations

import base64
import re
import secrets
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_fake import FakeHttpServer, QuietHandler

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    """Twilio's legacy error body, which the SDK turns into TwilioRestException."""
    return status, {"code": code, "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class FakeTwilio(FakeHttpServer):
    name = "fake-twilio"

    """Accepts ``POST /2010-04-01/Accounts/{sid}/Messages.json`` and records the messages."""

    def __init__(self, account_sid: str | None = None, auth_token: str = "fake-auth-token") -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.read_body(), keep_blank_values=True)
                fields = {key: values[-1] for key, values in form.items()}
                status, body = fake._create(self.path, self.headers.get("Authorization", ""), fields)
                self.reply_json(status, body, "application/json; charset=utf-8")

            def do_GET(self) -> None:
                self.reply_json(*_error(404, 20404, f"The requested resource {self.path} was not found"),
                                "application/json; charset=utf-8")

        return Handler

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        return (secrets.compare_digest(user, self.account_sid)
                and secrets.compare_digest(password, self.auth_token))

    def _create(self, path: str, authorization: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        match = _MESSAGES_PATH.match(path)
        if not match:
            return _error(404, 20404, f"The requested resource {path} was not found")
        if not self._authorized(authorization) or match["sid"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        to, sender = form.get("To", ""), form.get("From")
        service = form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")  # RFC 2822
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        body = form["Body"]
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender, "messaging_service_sid": service, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            # Twilio answers "accepted" when a messaging service picks the sender later.
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to, "uri": uri,
        }
        with self._lock:
            self.messages.append({"sid": sid, "to": to, "from": sender,
                                  "messaging_service_sid": service, "body": body})
        return 201, resource

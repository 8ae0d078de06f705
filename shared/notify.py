"""SMS and e-mail delivery, shared by every service that notifies a customer.

A :class:`Notifier` sends through one backend per channel, chosen by settings:
``file`` writes JSON files into ``$VAR_DIR/outbox`` (development and tests read the
codes back from there), ``twilio`` and ``smtp`` talk to the real providers, or to the
local fakes in ``tests/fakes`` when ``TWILIO_API_BASE``/``SMTP_HOST`` point at them.
Message bodies carry one-time codes and links, so they are never logged.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Mapping, Protocol

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class OutgoingMessage:
    """One SMS or e-mail; ``subject`` is for e-mail only."""

    channel: str
    to: str
    body: str
    subject: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=_now_iso)


class DeliveryFailed(RuntimeError):
    """The provider refused the message or could not be reached."""


class Backend(Protocol):
    def deliver(self, msg: OutgoingMessage) -> object: ...


class FileOutbox:
    """Writes each message as a JSON file; names sort by time, then channel, then id."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def deliver(self, msg: OutgoingMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.fromisoformat(msg.created_at).astimezone(timezone.utc)
        name = f"{stamp:%Y%m%dT%H%M%S.%fZ}-{msg.channel}-{msg.id}.json"
        path = self.folder / name
        # Write then rename, so a reader polling the folder never sees half a file.
        tmp = self.folder / f".{name}.tmp"
        tmp.write_text(json.dumps(asdict(msg), ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def messages(self, channel: str | None = None, to: str | None = None) -> list[dict[str, Any]]:
        """Messages in the order they were written, optionally only one channel/recipient."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if (channel is None or data["channel"] == channel) and (to is None or data["to"] == to):
                found.append(data)
        return found


class TwilioSms:
    """Sends SMS through the Twilio SDK; ``api_base`` replaces https://api.twilio.com."""

    def __init__(self, account_sid: str, auth_token: str, from_: str, api_base: str = "",
                 timeout: float = 10) -> None:
        from twilio.http.http_client import TwilioHttpClient  # optional extra [notify]
        from twilio.rest import Client

        self.from_ = from_
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        if api_base:
            # Every Messages URL is built from the Api domain's base_url (Domain.absolute_url),
            # so replacing it sends the SDK's own requests, auth and parsing to the fake.
            self.client.api.base_url = api_base.rstrip("/")
            # TWILIO_EDGE/TWILIO_REGION from the environment would rewrite the host name.
            self.client.edge = self.client.region = None

    def deliver(self, msg: OutgoingMessage) -> str:
        """Queue the SMS at Twilio; returns the message SID."""
        from requests import RequestException
        from twilio.base.exceptions import TwilioException

        sender = ({"messaging_service_sid": self.from_} if self.from_.startswith("MG")
                  else {"from_": self.from_})
        try:
            sent = self.client.messages.create(to=msg.to, body=msg.body, **sender)
        except TwilioException as exc:
            # TwilioRestException and TwilioServiceException share only this base.
            code = getattr(exc, "code", None)
            status = getattr(exc, "status", None)
            detail = getattr(exc, "msg", None) or getattr(exc, "title", None) or type(exc).__name__
            raise DeliveryFailed(f"twilio refused sms {msg.id}: HTTP {status}, code {code}: {detail}") from exc
        except RequestException as exc:
            raise DeliveryFailed(f"twilio unreachable for sms {msg.id}: {exc}") from exc
        return sent.sid


class SmtpEmail:
    """Sends e-mail over SMTP (optionally STARTTLS and AUTH)."""

    def __init__(self, host: str, port: int, from_: str, user: str = "", password: str = "",
                 starttls: bool = False, timeout: float = 10) -> None:
        self.host, self.port, self.from_ = host, int(port), from_
        self.user, self.password = user, password
        self.starttls, self.timeout = starttls, timeout

    def build(self, msg: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()  # default policy: non-ASCII headers are RFC 2047-encoded
        email["Subject"] = msg.subject or ""
        email["From"] = self.from_
        email["To"] = msg.to
        email["Date"] = format_datetime(datetime.fromisoformat(msg.created_at))
        domain = parseaddr(self.from_)[1].rpartition("@")[2] or None
        email["Message-ID"] = make_msgid(idstring=msg.id, domain=domain)
        # base64, not 8bit: safe on servers without 8BITMIME, and compact for Cyrillic.
        email.set_content(msg.body, charset="utf-8", cte="base64")
        return email

    def deliver(self, msg: OutgoingMessage) -> str:
        """Hand the e-mail to the SMTP server; returns its Message-ID."""
        email = self.build(msg)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timeout, DNS
            raise DeliveryFailed(f"smtp {self.host}:{self.port} failed for email {msg.id}: {exc}") from exc
        return email["Message-ID"]


def mask(to: str) -> str:
    """Enough of a recipient to tell messages apart in logs, not enough to identify anyone."""
    local, at, domain = to.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return f"{to[:2]}***{to[-2:]}" if len(to) > 6 else "***"


class Notifier:
    """Sends SMS and e-mail through the configured backends."""

    def __init__(self, sms: Backend, email: Backend) -> None:
        self.backends: dict[str, Backend] = {"sms": sms, "email": email}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Notifier:
        def outbox() -> FileOutbox:  # VAR_DIR is needed only by the file backend
            return FileOutbox(Path(config["VAR_DIR"]) / "outbox")

        sms_backend = config.get("SMS_BACKEND", "file")
        if sms_backend == "file":
            sms: Backend = outbox()
        elif sms_backend == "twilio":
            sms = TwilioSms(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                            config["TWILIO_FROM"], config.get("TWILIO_API_BASE", ""))
        else:
            raise ValueError(f"SMS_BACKEND must be 'file' or 'twilio', not {sms_backend!r}")
        email_backend = config.get("EMAIL_BACKEND", "file")
        if email_backend == "file":
            email: Backend = outbox()
        elif email_backend == "smtp":
            email = SmtpEmail(config["SMTP_HOST"], int(config["SMTP_PORT"]), config["SMTP_FROM"],
                              config.get("SMTP_USER", ""), config.get("SMTP_PASSWORD", ""),
                              bool(config.get("SMTP_STARTTLS", False)))
        else:
            raise ValueError(f"EMAIL_BACKEND must be 'file' or 'smtp', not {email_backend!r}")
        return cls(sms, email)

    def send_sms(self, to: str, body: str) -> OutgoingMessage:
        return self._send(OutgoingMessage("sms", to, body))

    def send_email(self, to: str, subject: str, body: str) -> OutgoingMessage:
        return self._send(OutgoingMessage("email", to, body, subject))

    def _send(self, msg: OutgoingMessage) -> OutgoingMessage:
        backend = self.backends[msg.channel]
        try:
            ref = backend.deliver(msg)
        except DeliveryFailed:
            log.warning("%s to %s failed (id %s)", msg.channel, mask(msg.to), msg.id)
            raise
        log.info("%s to %s delivered (id %s, ref %s)", msg.channel, mask(msg.to), msg.id,
                 getattr(ref, "name", ref))
        return msg


class NotifierProvider(DependencyProvider):
    """Gives each worker the container's Notifier, built once from its config."""

    def setup(self) -> None:
        self.notifier = Notifier.from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> Notifier:
        return self.notifier

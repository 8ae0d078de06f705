"""A local SMTP server (aiosmtpd) that records what it receives instead of relaying it.

Point ``SMTP_HOST``/``SMTP_PORT`` at :attr:`FakeSmtp.host`/:attr:`FakeSmtp.port`.
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller


def _free_port(host: str) -> int:
    # aiosmtpd's Controller checks readiness by connecting to its configured port, so it
    # cannot listen on port 0; take a port the OS just handed out instead.
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Recorder:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(parsed["From"]), "to": str(parsed["To"]),
            "subject": str(parsed["Subject"]), "message_id": str(parsed["Message-ID"]),
            "date": str(parsed["Date"]),
            # The wire format ends lines with CRLF; tests compare with Python's "\n".
            "body": text.get_content().replace("\r\n", "\n") if text is not None else "",
            "message": parsed,
        }
        with self.fake._lock:
            self.fake.messages.append(record)
        return "250 Message accepted for delivery"


class FakeSmtp:
    """Records each message as a dict: from, to, subject, body (decoded text), and more."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> FakeSmtp:
        self.port = _free_port(self.host)
        self._controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

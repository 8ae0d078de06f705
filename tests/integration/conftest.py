"""The running system for integration tests: real services on the real broker, the gateway
app in front of them, the fakes of Twilio and SMTP behind them."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
from flask.testing import FlaskClient
from nameko.runners import ServiceRunner
from nameko.testing.services import entrypoint_hook

from gateway.app import create_app
from services.accounts.service import AccountsService
from services.auth.service import AuthService
from services.documents.service import DocumentsService
from services.payments.service import PaymentsService
from services.readings.service import ReadingsService
from services.requests.service import RequestsService
from shared.clock import Clock, clock
from tests.conftest import CAPTCHA, make_config
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.stripe_server import FakeStripe
from tests.fakes.twilio_server import FakeTwilio
from tests.fakes.yookassa_server import FakeYooKassa
from tests.integration.bus import EventTap, publish, wait_handled, wait_row


@dataclass
class System:
    config: dict[str, Any]
    runner: ServiceRunner
    client: FlaskClient
    clock: Clock
    sms: FakeTwilio
    mail: FakeSmtp
    amqp_uri: str

    def captcha(self) -> dict[str, str]:
        response = self.client.post("/api/v1/auth/captcha")
        assert response.status_code == 201, response.json
        return {"captcha_id": response.json["captcha_id"], "captcha_answer": CAPTCHA}

    def last_sms(self, phone: str) -> str:
        texts = [m["body"] for m in self.sms.messages if m["to"] == phone]
        assert texts, f"no SMS to {phone}"
        return texts[-1]

    def sms_code(self, phone: str) -> str:
        match = re.search(r"\b(\d{6})\b", self.last_sms(phone))
        assert match, self.last_sms(phone)
        return match.group(1)

    def mail_link(self, to: str) -> str:
        bodies = [m["body"] for m in self.mail.messages if to.lower() in str(m["to"]).lower()]
        assert bodies, f"no e-mail to {to}"
        match = re.search(r"token=([\w.-]+)", bodies[-1])
        assert match, bodies[-1]
        return match.group(1)

    def tap(self, producer: str = "auth") -> EventTap:
        return EventTap(self.amqp_uri, producer)

    def wait_contact(self, user_id: str, timeout: float = 10) -> None:
        """Until accounts has learnt the user's confirmed contacts from auth's events."""
        wait_row(self.config["ACCOUNTS_DATABASE_URL"],
                 "SELECT 1 FROM contacts WHERE user_id = :u", {"u": user_id},
                 f"accounts learning the contacts of {user_id}", timeout)

    def tick(self, service: str, timer_method: str) -> Any:
        """Fire a service's timer now, in its real container (it would fire on its own later)."""
        container = next(c for c in self.runner.containers if c.service_name == service)
        with entrypoint_hook(container, timer_method) as fire:
            return fire()

    def billing(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Publish as a billing system would (plain pika) and wait until accounts handled it."""
        return self.billing_to("accounts", event_type, payload)

    def billing_to(self, service: str, event_type: str, payload: dict[str, Any]
                   ) -> dict[str, Any]:
        """Publish a billing event and wait until ``service`` handled it."""
        envelope = publish(self.amqp_uri, "billing", event_type, payload)
        wait_handled(self.config[f"{service.upper()}_DATABASE_URL"], event_id=envelope["id"])
        return envelope


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest, amqp_uri: str, new_database: Callable[[str], str],
           tmp_path_factory: pytest.TempPathFactory, _fake_twilio_server: FakeTwilio,
           _fake_smtp_server: FakeSmtp, _fake_stripe_server: FakeStripe,
           _fake_yookassa_server: FakeYooKassa) -> Iterator[System]:
    """A test module may set ``PAYMENT_PROVIDER = "stripe"`` (or ``"yookassa"``): payments
    then talks to the fake Stripe (ЮKassa) through the real SDK. (OCR runs in worker
    processes a module starts itself: tests/integration/ocr_workers.py.)"""
    sms, mail, stripe = _fake_twilio_server, _fake_smtp_server, _fake_stripe_server
    var = tmp_path_factory.mktemp("var")
    config = make_config(
        var, amqp_uri, AUTH_DATABASE_URL=new_database("auth"),
        ACCOUNTS_DATABASE_URL=new_database("accounts"),
        READINGS_DATABASE_URL=new_database("readings"),
        REQUESTS_DATABASE_URL=new_database("requests"),
        PAYMENTS_DATABASE_URL=new_database("payments"),
        DOCUMENTS_DATABASE_URL=new_database("documents"),
        DOCUMENTS_FILES_DIR=str(var / "documents-files"),
        SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=sms.account_sid,
        TWILIO_AUTH_TOKEN=sms.auth_token, TWILIO_FROM="+15005550006", TWILIO_API_BASE=sms.url,
        EMAIL_BACKEND="smtp", SMTP_HOST=mail.host, SMTP_PORT=mail.port,
        PAYMENT_PROVIDER=getattr(request.module, "PAYMENT_PROVIDER", "sandbox"),
        STRIPE_API_KEY=stripe.api_key, STRIPE_WEBHOOK_SECRET=stripe.webhook_secret,
        STRIPE_API_BASE=stripe.url, YOOKASSA_SHOP_ID=_fake_yookassa_server.shop_id,
        YOOKASSA_SECRET_KEY=_fake_yookassa_server.secret_key,
        YOOKASSA_API_URL=_fake_yookassa_server.api_url, YOOKASSA_CHECK_IP=False)
    runner = ServiceRunner(config)
    for service in (AuthService, AccountsService, ReadingsService,
                    PaymentsService, RequestsService, DocumentsService):
        runner.add_service(service)
    runner.start()
    app = create_app(config)
    try:
        yield System(config, runner, app.test_client(), clock, sms, mail,
                     amqp_uri)
    finally:
        app.extensions["rpc"].close()
        runner.stop()


_client_numbers = itertools.count(1)


@pytest.fixture
def sys(system: System) -> Iterator[System]:
    """The module's system with empty fakes, the clock back at real time, and a client
    address of this test's own (per-IP limits then count only this test's requests)."""
    system.sms.clear()
    system.mail.clear()
    system.client.environ_base["REMOTE_ADDR"] = f"2001:db8::{next(_client_numbers):x}"
    yield system
    system.clock.offset = type(system.clock.offset)(0)
    system.clock.unfreeze()

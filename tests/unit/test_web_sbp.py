"""The cabinet's СБП pages against a fake of the gateway's HTTP answers (the browser suite,
tests/e2e/test_sbp.py, runs them against the real system): what /pay sends, the waiting page
without JavaScript and under htmx, the sandbox's «bank app» refusing another provider's
payment, and the receipt contact's error named by its field."""
from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared import settings
from web.api import ApiError
from web.app import create_app

LINK = "http://127.0.0.1:8000/payments/sandbox-sbp/pi_sbx_1"


class Gateway:
    """The answers the СБП pages ask for; ``sent`` keeps every call's body."""

    def __init__(self) -> None:
        self.status, self.provider = "requires_action", "sandbox"
        self.sent: list[tuple[str, str, Any]] = []

    def payment(self) -> dict[str, Any]:
        waiting = self.status == "requires_action"
        return {"id": "p1", "status": self.status, "amount": "640.00", "refunded": "0.00",
                "source": "card", "provider": self.provider, "method": "sbp",
                "sbp_url": LINK if waiting else None, "failure_reason": None,
                "action": {"next_action": "sbp", "confirmation_url": LINK} if waiting else None,
                "created_at": "2026-11-02T10:00:00Z", "paid_at": None, "refunds": [],
                "items": [{"account_id": 1, "number": "123456789", "branch": "krd",
                           "kind": "electricity", "period": None, "amount": "640.00"}],
                "receipt": {"status": "pending", "email": "i@example.ru", "phone": None,
                            "items": [{"description": "Электроэнергия, л/с 123456789",
                                       "amount": "640.00", "kind": "electricity"}]}}

    def call(self, method: str, path: str, *, json: Any = None, **_: Any) -> Any:
        self.sent.append((method, path, json))
        if path == "/payments/debt":
            return {"accounts": [{"account_id": 1, "number": "123456789", "branch": "krd",
                                  "debt": "640.00", "penalties": "0.00", "advance": "0.00",
                                  "to_pay": "640.00"}]}
        if path == "/profile":
            return {"contacts": {"email": "i@example.ru", "mobile_phone": "+79181234567"}}
        if (method, path) == ("POST", "/payments"):
            if json.get("receipt_phone") == "12":
                raise ApiError(422, "validation_failed", "Телефон для чека — +7 и 10 цифр",
                               {"receipt_phone": "+7XXXXXXXXXX"})
            return self.payment()
        if path == "/payments/p1":
            return self.payment()
        if path == "/payments/sandbox/pi_sbx_1":  # the API's 404 for another provider's
            if self.provider != "sandbox":
                raise ApiError(404, "not_found", "Платёж не найден", {"provider": "sandbox"})
            return self.payment()
        if path == "/payments/sandbox/pi_sbx_1/sbp":
            self.status = "succeeded" if json["approve"] else "canceled"
            return self.payment()
        return [] if path in ("/accounts", "/payments/cards") else {}


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture
def client(gateway: Gateway) -> FlaskClient:
    app: Flask = create_app(settings.load({"NESK_ENV": "test", "SECRET_KEY": "s"}),
                            api=gateway)  # type: ignore[arg-type]
    app.config["WTF_CSRF_ENABLED"] = False
    token = jwt.encode({"sub": "u1", "exp": int(time.time()) + 600}, "k" * 32, "HS256")
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["auth"] = {"access": token, "refresh": "r", "exp": int(time.time()) + 600,
                           "role": "customer", "user": "u1"}
    return browser


def pay(client: FlaskClient, **form: str) -> Any:
    return client.post("/pay", data={"pay_1_debt": "on", "amount_1_debt": "640,00",
                                     "idempotency_key": "k1", "method": "sbp", **form})


def test_sbp_is_asked_without_a_card_and_the_receipt_goes_to_the_contact(
        client: FlaskClient, gateway: Gateway) -> None:
    assert 'value="i@example.ru"' in client.get("/pay").get_data(as_text=True)
    answer = pay(client, receipt_contact="i@example.ru", save_card="on", card_ref="card_1")
    assert answer.status_code == 302 and answer.location.endswith("/pay/sbp/p1")
    body = next(json for method, path, json in gateway.sent if path == "/payments")
    assert body["method"] == "sbp" and body["receipt_email"] == "i@example.ru"
    assert "save_card" not in body and "card_ref" not in body


def test_a_bad_receipt_phone_is_named_by_its_field(client: FlaskClient) -> None:
    answer = pay(client, receipt_contact="12")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'data-testid="error-receipt_contact"' in page and "+7 и 10 цифр" in page


def test_the_waiting_page_shows_the_code_and_moves_on_when_paid(
        client: FlaskClient, gateway: Gateway) -> None:
    page = client.get("/pay/sbp/p1").get_data(as_text=True)
    assert f'href="{LINK}"' in page and '<svg viewBox=' in page
    assert 'hx-trigger="every 2s"' in page and "Проверить оплату" in page
    polled = client.get("/pay/sbp/p1", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "HX-Redirect" not in polled.headers

    bank = client.post("/payments/sandbox-sbp/pi_sbx_1", data={"decision": "approve"})
    assert bank.location.endswith("/pay/result/p1")
    assert gateway.sent[-1] == ("POST", "/payments/sandbox/pi_sbx_1/sbp", {"approve": True})
    polled = client.get("/pay/sbp/p1", headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"] == "/pay/result/p1"
    assert client.get("/pay/sbp/p1").location.endswith("/pay/result/p1")  # without JS


def test_the_sandbox_bank_app_is_not_for_another_providers_payment(
        client: FlaskClient, gateway: Gateway) -> None:
    # opened on the phone that scanned the code: this browser never started the payment
    page = client.get("/payments/sandbox-sbp/pi_sbx_1").get_data(as_text=True)
    assert "Тестовый банк: оплатить 640,00\u00a0₽ по СБП" in page
    gateway.provider = "yookassa"
    assert client.get("/payments/sandbox-sbp/pi_sbx_1").status_code == 404

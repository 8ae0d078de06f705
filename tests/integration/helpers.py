"""Steps of the manual's flows, through the gateway's HTTP API."""
from __future__ import annotations

import itertools
import time
from typing import Any, Callable, TypeVar

from tests.integration.conftest import System

CONSENT = "2025-09-01"
PASSWORD = "Lampochka-2026"
_numbers = itertools.count(1000000)
T = TypeVar("T")


def new_phone() -> str:
    """A fresh valid Krasnodar MTS mobile (+7 918 ...), different for every call."""
    return f"+7918{next(_numbers):07d}"


def register_by_phone(sys: System, phone: str, password: str = PASSWORD) -> dict[str, Any]:
    started = sys.client.post("/api/v1/auth/register/phone", json={"phone": phone, **sys.captcha()})
    assert started.status_code == 202, started.json
    e164 = "+7" + "".join(ch for ch in phone if ch.isdigit())[-10:]
    verified = sys.client.post("/api/v1/auth/register/phone/verify", json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(e164)})
    assert verified.status_code == 200, verified.json
    done = sys.client.post("/api/v1/auth/register/phone/complete", json={
        "registration_token": verified.json["registration_token"], "password": password,
        "password_confirmation": password, "consent_version": CONSENT})
    assert done.status_code == 201, done.json
    # A minute passes before the user's next step, so the SMS resend cooldown is over.
    sys.clock.advance(seconds=sys.config["SMS_RESEND_COOLDOWN"] + 1)
    return done.json


def register_by_email(sys: System, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = sys.client.post("/api/v1/auth/register/email", json={
        "email": email, "password": password, "password_confirmation": password,
        "consent_version": CONSENT, **sys.captcha()})
    assert response.status_code == 202, response.json
    confirmed = sys.client.get("/api/v1/auth/register/email/confirm",
                               query_string={"token": sys.mail_link(email)})
    assert confirmed.status_code == 200, confirmed.json
    return confirmed.json


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def login(sys: System, password: str = PASSWORD, **identity: str):
    return sys.client.post("/api/v1/auth/login", json={**identity, "password": password})


def error(response) -> dict[str, Any]:
    """The one error shape every 4xx has."""
    assert response.is_json, response.data
    body = response.json["error"]
    assert set(body) >= {"code", "message"}
    return body


def eventually(check: Callable[[], T], timeout: float = 10, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (an event on its way through the bus)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def staff(sys: System, role: str = "operator") -> dict[str, Any]:
    """Tokens of a new operator or admin, made the way `services.auth.cli create-user` does."""
    from services.auth.cli import create_user

    email = f"{role}{next(_numbers)}@nesk.ru"
    create_user(sys.config, role, None, email, PASSWORD, PASSWORD)
    response = login(sys, email=email)
    assert response.status_code == 200, response.json
    return response.json


def all_items(sys: System, path: str, headers: dict[str, str], limit: int = 100,
              **query: Any) -> list[dict[str, Any]]:
    """Every item of a paged list (README «Списки»), page after page by ``next``; each page
    at most ``limit`` long and no item twice."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        answer = sys.client.get(path, headers=headers, query_string={
            **query, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.json
        assert set(answer.json) >= {"items", "next"} and len(answer.json["items"]) <= limit
        items += answer.json["items"]
        cursor = answer.json["next"]
        if cursor is None:
            break
        assert answer.json["items"], "a page with a next is never empty"
    keys = [item.get("id", item.get("period")) for item in items]
    assert len(keys) == len(set(keys)), f"an item repeated across pages: {keys}"
    return items


def assert_paged(sys: System, path: str, headers: dict[str, str], at_least: int,
                 **query: Any) -> list[dict[str, Any]]:
    """The list at ``path`` pages as the convention says: pages of one item reach the same
    items, in the same order, as one big page; a mangled cursor or limit is a 400/422
    naming its field in Russian."""
    whole = all_items(sys, path, headers, **query)
    assert len(whole) >= at_least
    assert all_items(sys, path, headers, limit=1, **query) == whole
    for bad in ({"cursor": "не-курсор"}, {"limit": 0}, {"limit": 101}):
        refused = sys.client.get(path, headers=headers, query_string={**query, **bad})
        assert refused.status_code in (400, 422), refused.json
        (name,) = bad
        assert any("а" <= ch <= "я" for ch in error(refused)["fields"][name].lower())
    return whole

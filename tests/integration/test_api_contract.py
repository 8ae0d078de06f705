"""The published OpenAPI document tells the truth: real answers of the main flows, from the
real services, conform to the response schema of their operation (so the schemas cannot
drift from what the services say), and the lists that grow page the one documented way."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from tests.integration.helpers import bearer, eventually, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account
from tests.integration.test_payments import card, move_to
from tests.integration.test_readings import month_day

API = "/api/v1"


class Contract:
    """Checks each answer against the schema the document publishes for its operation."""

    def __init__(self, sys: Any) -> None:
        self.client = sys.client
        self.document = self.client.get(f"{API}/openapi.json").json
        self.checked: set[str] = set()

    def _schema(self, method: str, path: str, status: int) -> dict[str, Any]:
        adapter = self.client.application.url_map.bind("localhost")
        endpoint, _ = adapter.match(path, method=method)
        for template, operations in self.document["paths"].items():
            operation = operations.get(method.lower())
            if operation and operation["operationId"] == endpoint:
                self.checked.add(operation["operationId"])
                content = operation["responses"][str(status)]["content"]
                return content["application/json"]["schema"]
        raise AssertionError(f"{method} {path} is not in the document")

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, **kwargs)
        assert response.status_code == status, (path, response.json)
        schema = self._schema(method, path.split("?")[0], status)
        # the operation's schema with the document's components, so its $refs resolve
        validator = OAS30Validator({**schema, "components": self.document["components"]})
        problems = [f"{list(e.absolute_path)}: {e.message}"
                    for e in validator.iter_errors(response.json)]
        assert not problems, (method, path, problems)
        return response.json


@pytest.fixture
def contract(sys) -> Contract:
    return Contract(sys)


def test_main_flows_answer_what_the_document_says(sys, contract):
    phone = new_phone()
    register_by_phone(sys, phone)
    move_to(sys, month_day(sys, 0, 20))  # the reading window is open
    tokens = contract.call("POST", f"{API}/auth/login", 200,
                           json={"phone": phone, "password": "Lampochka-2026"})
    me = bearer(tokens)
    contract.call("GET", f"{API}/auth/me", 200, headers=me)
    contract.call("GET", f"{API}/auth/consent", 200)
    contract.call("GET", f"{API}/accounts/branches", 200)
    number = post_account(sys)
    account = contract.call("POST", f"{API}/accounts", 201, headers=me,
                            json={"number": number, "branch": "mostovskoy", "proof": "2333"})
    account_id = account["id"]
    assert [a["id"] for a in contract.call("GET", f"{API}/accounts", 200, headers=me)] == [
        account_id]
    contract.call("GET", f"{API}/accounts/{account_id}", 200, headers=me)
    contract.call("GET", f"{API}/accounts/{account_id}/meters", 200, headers=me)
    contract.call("GET", f"{API}/readings/window", 200)
    reading = {"meter_serial": "1000911502333", "values": [3200]}
    contract.call("POST", f"{API}/accounts/{account_id}/readings/preview", 200, headers=me,
                  json=reading)
    contract.call("POST", f"{API}/accounts/{account_id}/readings", 201, headers=me,
                  json=reading)
    contract.call("GET", f"{API}/accounts/{account_id}/readings", 200, headers=me)

    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-09", "amount": "1520.40"})
    debt = contract.call("GET", f"{API}/accounts/{account_id}/debt", 200, headers=me)
    assert debt["debt"] == "1520.40"
    contract.call("GET", f"{API}/accounts/{account_id}/penalties", 200, headers=me)
    contract.call("GET", f"{API}/payments/debt", 200, headers=me)
    payment = contract.call("POST", f"{API}/payments", 201, headers=me, json={
        "idempotency_key": str(uuid.uuid4()),
        "items": [{"account_id": account_id, "kind": "electricity", "amount": "1520.40"}]})
    paid = card(sys, tokens, payment)
    assert paid.status_code == 200, paid.json
    contract.call("GET", f"{API}/payments/{payment['id']}", 200, headers=me)
    contract.call("GET", f"{API}/accounts/{account_id}/bills", 200, headers=me)
    contract.call("GET", f"{API}/summary", 200, headers=me)
    contract.call("GET", f"{API}/profile", 200, headers=me)
    contract.call("PUT", f"{API}/profile/basic", 200, headers=me,
                  json={"first_name": "Иван", "gender": "male"})
    contract.call("GET", f"{API}/requests/catalogue", 200)
    contract.call("GET", f"{API}/requests", 200, headers=me)
    contract.call("GET", f"{API}/documents/types", 200)
    assert {"post_auth_login", "get_accounts", "post_accounts_account_id_readings",
            "get_accounts_account_id_debt", "post_payments"} <= contract.checked


def _pages(contract: Contract, path: str, headers: dict[str, str], **query: Any
           ) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next`` until it is null."""
    pages, cursor = [], None
    while True:
        answer = contract.call("GET", path, 200, headers=headers,
                               query_string={**query, **({"cursor": cursor} if cursor else {})})
        pages.append(answer["items"])
        cursor = answer["next"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "next never ends"


def test_growing_lists_page_by_limit_and_next(sys, contract):
    tokens = register_by_phone(sys, new_phone())
    me = bearer(tokens)
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-09", "amount": "300.00"})
    for amount in ("100.00", "100.00", "100.00"):  # three payments: three notices as well
        payment = contract.call("POST", f"{API}/payments", 201, headers=me, json={
            "idempotency_key": str(uuid.uuid4()),
            "items": [{"account_id": account_id, "kind": "electricity", "amount": amount}]})
        assert card(sys, tokens, payment).status_code == 200

    history = _pages(contract, f"{API}/payments/history", me, limit=2)
    assert [len(page) for page in history] == [2, 1]
    moments = [row["created_at"] for page in history for row in page]
    assert moments == sorted(moments, reverse=True)  # newest first, none twice
    assert len({row["payment_id"] for page in history for row in page}) == 3

    def notices() -> list[list[dict[str, Any]]]:
        return _pages(contract, f"{API}/notices", me, limit=1)

    feed = eventually(lambda: (pages := notices()) and len(pages) >= 3 and pages,
                      what="three payment notices")
    ids = [n["id"] for page in feed for n in page]
    assert ids == sorted(ids, reverse=True) and all(len(page) == 1 for page in feed)


def test_a_bad_cursor_or_limit_is_a_clear_400_not_a_500(sys):
    me = bearer(register_by_phone(sys, new_phone()))
    for path in ("/notices", "/payments/history"):
        for query in ({"cursor": "not-a-cursor"}, {"cursor": _opaque([1, 2, 3])},
                      {"cursor": _opaque(["x", 1])}, {"cursor": _opaque([2**70])},
                      {"cursor": "x" * 600}, {"limit": 0}, {"limit": 101}):
            response = sys.client.get(API + path, headers=me, query_string=query)
            assert response.status_code in (400, 422), (path, query, response.json)
            assert set(response.json["error"]["fields"]) <= {"cursor", "limit"}


def _opaque(key: list[Any]) -> str:
    """A cursor of the right encoding with a key the server never made."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

"""A local fake of the part of ЮKassa's API v3 that ``YooKassaProvider`` uses.

Point ``YOOKASSA_API_URL`` at :attr:`FakeYooKassa.url`; the official ``yookassa`` SDK then
sends its JSON here with Basic auth (shop id : secret key) and an ``Idempotence-Key`` on every
POST. The same key with the same body answers the first answer again; with another body,
400. It knows payments (``POST /payments``, ``GET /payments/{id}``: automatic capture,
confirmation ``redirect`` or ``qr``, ``payment_method_data`` bank_card or sbp, a saved method
charged by ``payment_method_id``, ``save_payment_method``, a ``receipt``) and refunds
(``POST /refunds``, ``GET /refunds/{id}``). The test plays the customer and the bank:
:meth:`FakeYooKassa.succeed` or :meth:`FakeYooKassa.cancel` a waiting payment,
:meth:`FakeYooKassa.register_receipts` marks its receipts registered, and
:meth:`FakeYooKassa.notification` builds the (unsigned) notification ЮKassa would POST;
``fail_next`` answers the next POSTs 500 (ЮKassa down).
"""
from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable
import re
from urllib.parse import urlsplit

from tests.fakes.http_fake import FakeHttpServer, QuietHandler

Reply = tuple[int, dict[str, Any]]


def _error(status: int, code: str, description: str, parameter: str | None = None) -> Reply:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return status, body


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeYooKassa(FakeHttpServer):
    """Serves ``/v3/...``; the state is in plain dicts the tests may read."""

    name = "fake-yookassa"

    def __init__(self, shop_id: str = "123456", secret_key: str = "test_fake_secret") -> None:
        self.shop_id = shop_id
        self.secret_key = secret_key
        self._lock = threading.RLock()
        self.clear()
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("POST", r"/v3/payments", self._create_payment),
            ("GET", r"/v3/payments/(?P<ref>[^/]+)", self._get_payment),
            ("POST", r"/v3/refunds", self._create_refund),
            ("GET", r"/v3/refunds/(?P<ref>[^/]+)", self._get_refund),
        ]
        self._routes = [(method, re.compile(f"^{pattern}$"), fn) for method, pattern, fn in routes]

    @property
    def api_url(self) -> str:
        return self.url + "/v3"

    def handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self._answer("GET", "")

            def do_POST(self) -> None:
                self._answer("POST", self.read_body())

            def _answer(self, method: str, body: str) -> None:
                status, reply = fake.handle(method, urlsplit(self.path).path, body, self.headers)
                self.reply_json(status, reply)

        return Handler

    def clear(self) -> None:
        """Forget every payment, refund, idempotence key and recorded request."""
        with self._lock:
            self.payments: dict[str, dict[str, Any]] = {}
            self.refunds: dict[str, dict[str, Any]] = {}
            self.requests: list[dict[str, Any]] = []  # method, path, idempotence_key, body
            self.saved_methods: set[str] = set()
            self.fail_next = 0  # POSTs to answer 500 before doing anything (ЮKassa down)
            self._idempotent: dict[str, tuple[str, Any, Reply]] = {}

    # -- what the customer and the bank do (driven by the test) -------------------------------

    def succeed(self, ref: str, last4: str = "4444", card_type: str = "Mir") -> dict[str, Any]:
        """The customer paid (a card on ЮKassa's page, or confirmed in the bank's app)."""
        with self._lock:
            payment = self.payments[ref]
            assert payment["status"] == "pending", payment["status"]
            if payment["payment_method"]["type"] == "bank_card":
                payment["payment_method"].update(
                    title=f"Bank card *{last4}",
                    card={"first6": "220220", "last4": last4, "expiry_month": "12",
                          "expiry_year": "2030", "card_type": card_type})
            self._paid(payment)
            return copy.deepcopy(payment)

    def cancel(self, ref: str, reason: str = "expired_on_confirmation") -> dict[str, Any]:
        """The payment is canceled (the customer declined, the bank refused, it expired)."""
        with self._lock:
            payment = self.payments[ref]
            payment.update(status="canceled", paid=False,
                           cancellation_details={"party": "yoo_money", "reason": reason})
            payment.pop("confirmation", None)
            return copy.deepcopy(payment)

    def register_receipts(self, ref: str) -> None:
        """The fiscal data operator registered the payment's receipt and its refunds'."""
        with self._lock:
            payment = self.payments[ref]
            if "receipt_registration" in payment:
                payment["receipt_registration"] = "succeeded"
            for refund in self.refunds.values():
                if refund["payment_id"] == ref and "receipt_registration" in refund:
                    refund["receipt_registration"] = "succeeded"

    def notification(self, event: str, ref: str, **changes: Any) -> bytes:
        """The body ЮKassa POSTs for ``event`` about payment (or refund) ``ref``: the object as
        it is now, with ``changes`` (a forger's claims) applied."""
        with self._lock:
            source = self.refunds if event.startswith("refund.") else self.payments
            obj = copy.deepcopy(source.get(ref) or {"id": ref})
        obj.update(changes)
        return json.dumps({"type": "notification", "event": event, "object": obj},
                          ensure_ascii=False).encode("utf-8")

    # -- the API ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: str, headers: Any) -> Reply:
        expected = "Basic " + base64.b64encode(
            f"{self.shop_id}:{self.secret_key}".encode()).decode()
        if headers.get("Authorization") != expected:
            return _error(401, "invalid_credentials", "Authentication by given credentials failed")
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "invalid_request", "Request body is not JSON")
        key = headers.get("Idempotence-Key")
        with self._lock:
            self.requests.append({"method": method, "path": path, "idempotence_key": key,
                                  "body": params})
            if method == "POST":
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return _error(500, "internal_server_error", "Internal server error")
                if not key:
                    return _error(400, "invalid_request", "Idempotence key is empty",
                                  "Idempotence-Key")
                if key in self._idempotent:
                    first_path, first_params, reply = self._idempotent[key]
                    if (first_path, first_params) != (path, params):
                        return _error(400, "invalid_request", "Idempotence key duplicated "
                                      "with other request parameters", "Idempotence-Key")
                    return copy.deepcopy(reply)
            reply = self._route(method, path, params)
            if method == "POST" and reply[0] < 500:
                self._idempotent[key] = (path, params, copy.deepcopy(reply))
            return reply

    def _route(self, method: str, path: str, params: dict[str, Any]) -> Reply:
        for verb, pattern, fn in self._routes:
            match = pattern.match(path)
            if verb == method and match:
                return fn(params, **match.groupdict())
        return _error(404, "not_found", f"Unknown path {method} {path}")

    def _create_payment(self, params: dict[str, Any]) -> Reply:
        amount = params.get("amount") or {}
        if Decimal(str(amount.get("value", "0"))) <= 0 or amount.get("currency") != "RUB":
            return _error(400, "invalid_request", "Invalid amount", "amount")
        receipt = params.get("receipt")
        if receipt is not None:
            problem = _receipt_problem(receipt, Decimal(amount["value"]))
            if problem:
                return _error(400, "invalid_request", problem, "receipt")
        ref = str(uuid.uuid4())
        payment: dict[str, Any] = {
            "id": ref, "status": "pending", "paid": False, "amount": amount,
            "description": params.get("description", ""), "created_at": _now(),
            "metadata": params.get("metadata") or {}, "recipient": {"account_id": self.shop_id,
                                                                    "gateway_id": "1"},
            "refundable": False, "test": True,
            "refunded_amount": {"value": "0.00", "currency": "RUB"}}
        if receipt is not None:
            payment["_receipt"] = receipt  # kept for the tests; not a field ЮKassa returns
        saved = params.get("payment_method_id")
        if saved:
            if saved not in self.saved_methods:
                return _error(400, "invalid_request", "Payment method is not saved",
                              "payment_method_id")
            payment["payment_method"] = {"type": "bank_card", "id": saved, "saved": True,
                                         "card": {"first6": "220220", "last4": "4444",
                                                  "expiry_month": "12", "expiry_year": "2030",
                                                  "card_type": "Mir"}}
            self._paid(payment)
        else:
            kind = (params.get("payment_method_data") or {}).get("type", "bank_card")
            payment["payment_method"] = {"type": kind, "id": ref,
                                         "saved": bool(params.get("save_payment_method"))}
            confirmation = params.get("confirmation") or {}
            if confirmation.get("type") == "qr":
                payment["confirmation"] = {"type": "qr",
                                           "confirmation_data": f"https://qr.nspk.ru/{ref}"}
            elif confirmation.get("type") == "redirect":
                payment["confirmation"] = {
                    "type": "redirect", "return_url": confirmation.get("return_url"),
                    "confirmation_url": f"{self.url}/checkout/payments/v2/contract?orderId={ref}"}
            else:
                return _error(400, "invalid_request", "Confirmation is required", "confirmation")
        self.payments[ref] = payment
        return 200, _public(payment)

    def _paid(self, payment: dict[str, Any]) -> None:
        payment.update(status="succeeded", paid=True, refundable=True, captured_at=_now())
        payment.pop("confirmation", None)
        if "_receipt" in payment:
            payment["receipt_registration"] = "pending"
        if payment["payment_method"].get("saved"):
            self.saved_methods.add(payment["payment_method"]["id"])

    def _get_payment(self, params: dict[str, Any], ref: str) -> Reply:
        payment = self.payments.get(ref)
        if payment is None:
            return _error(404, "not_found", f"Payment {ref} not found")
        return 200, _public(payment)

    def _create_refund(self, params: dict[str, Any]) -> Reply:
        payment = self.payments.get(str(params.get("payment_id")))
        if payment is None:
            return _error(404, "not_found", "Payment not found", "payment_id")
        if payment["status"] != "succeeded":
            return _error(400, "invalid_request", "Payment is not succeeded", "payment_id")
        amount = Decimal(str((params.get("amount") or {}).get("value", "0")))
        refunded = Decimal(payment["refunded_amount"]["value"])
        if amount <= 0 or amount > Decimal(payment["amount"]["value"]) - refunded:
            return _error(400, "invalid_request", "Refund amount is too large", "amount")
        receipt = params.get("receipt")
        if "_receipt" in payment and receipt is None:
            return _error(400, "invalid_request", "Receipt is missing", "receipt")
        if receipt is not None:
            problem = _receipt_problem(receipt, amount)
            if problem:
                return _error(400, "invalid_request", problem, "receipt")
        ref = str(uuid.uuid4())
        refund = {"id": ref, "payment_id": payment["id"], "status": "succeeded",
                  "amount": {"value": f"{amount:.2f}", "currency": "RUB"}, "created_at": _now()}
        if receipt is not None:
            refund.update(receipt_registration="pending", _receipt=receipt)
        payment["refunded_amount"] = {"value": f"{refunded + amount:.2f}", "currency": "RUB"}
        self.refunds[ref] = refund
        return 200, _public(refund)

    def _get_refund(self, params: dict[str, Any], ref: str) -> Reply:
        refund = self.refunds.get(ref)
        if refund is None:
            return _error(404, "not_found", f"Refund {ref} not found")
        return 200, _public(refund)


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _receipt_problem(receipt: dict[str, Any], total: Decimal) -> str | None:
    """What ЮKassa would refuse in a receipt: no contact, no items, items not adding up."""
    customer = receipt.get("customer") or {}
    if not customer.get("email") and not customer.get("phone"):
        return "Receipt customer email or phone is required"
    if customer.get("phone") and not re.fullmatch(r"\d{11,15}", customer["phone"]):
        return "Receipt customer phone must be digits in E.164"
    items = receipt.get("items") or []
    if not items:
        return "Receipt items are required"
    for item in items:
        if not isinstance(item.get("vat_code"), int) or not 1 <= item["vat_code"] <= 12:
            return "Receipt item vat_code must be 1..12"
        if not item.get("description") or not item.get("payment_subject"):
            return "Receipt item description and payment_subject are required"
    if sum(Decimal(i["amount"]["value"]) * Decimal(i["quantity"]) for i in items) != total:
        return "Receipt items do not add up to the amount"
    return None

"""A local fake of the part of Stripe's API that ``StripeProvider`` uses.

Point ``STRIPE_API_BASE`` at :attr:`FakeStripe.url`; the real ``stripe`` SDK then sends its
requests here, form-encoded with its own auth, idempotency keys and error parsing. It knows
customers, PaymentIntents (create, retrieve, confirm; ``expand`` of ``latest_charge`` and
``payment_method``), refunds, and listing/detaching PaymentMethods. Stripe's test payment
methods behave as in test mode: ``pm_card_visa`` pays, ``pm_card_chargeDeclined`` is declined,
``pm_card_threeDSecure2Required`` asks for 3-D Secure (finish it with
:meth:`FakeStripe.complete_3ds`, the customer at the bank's page) and, saved, fails every
off-session payment with ``authentication_required``. :meth:`FakeStripe.webhook` builds a
signed event of an object's current state, as Stripe would POST it.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http_fake import FakeHttpServer, QuietHandler

# test payment method -> (last4, behaviour)
TEST_METHODS = {
    "pm_card_visa": ("4242", "succeeds"),
    "pm_card_chargeDeclined": ("0002", "declined"),
    "pm_card_threeDSecure2Required": ("3220", "3ds"),
}
API_VERSION = "2026-01-28.clover"
_IDEMPOTENCY_MESSAGE = ("Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request.")

Reply = tuple[int, dict[str, Any]]


class _Refused(Exception):
    """An error answer, raised from deep inside a handler."""

    def __init__(self, status: int, type_: str, message: str, code: str | None = None,
                 param: str | None = None, **extra: Any) -> None:
        error: dict[str, Any] = {"type": type_, "message": message, **extra}
        if code:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            error["param"] = param
        super().__init__(message)
        self.reply: Reply = (status, {"error": error})


def _missing(kind: str, ref: str, param: str | None = None) -> _Refused:
    return _Refused(404 if param is None else 400, "invalid_request_error",
                    f"No such {kind}: '{ref}'", "resource_missing", param)


def decode_form(text: str) -> dict[str, Any]:
    """Stripe's form encoding back to nested data: ``a[b]=1`` -> {a: {b: "1"}},
    ``a[0]=x`` -> {a: ["x"]}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    def lists(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [lists(node[k]) for k in sorted(node, key=int)]
        return {k: lists(v) for k, v in node.items()}

    return lists(root)


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _true(value: Any) -> bool:
    return value in (True, "true")



class FakeStripe(FakeHttpServer):
    name = "fake-stripe"

    """Serves ``/v1/...``; state is in plain dicts the tests may read."""

    def __init__(self, api_key: str = "sk_test_fake", webhook_secret: str = "whsec_fake") -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self._lock = threading.RLock()
        self.clear()
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("POST", r"/v1/payment_intents", self._create_intent),
            ("GET", r"/v1/payment_intents/(?P<ref>[^/]+)", self._get_intent),
            ("POST", r"/v1/payment_intents/(?P<ref>[^/]+)/confirm", self._confirm_intent),
            ("POST", r"/v1/refunds", self._create_refund),
            ("GET", r"/v1/payment_methods", self._list_methods),
            ("POST", r"/v1/payment_methods/(?P<ref>[^/]+)/detach", self._detach_method),
        ]
        self._routes = [(method, re.compile(f"^{pattern}$"), fn) for method, pattern, fn in routes]

    # -- server plumbing, as in FakeTwilio ---------------------------------------------------

    def handler(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self._answer("GET", urlsplit(self.path).query)

            def do_POST(self) -> None:
                self._answer("POST", self.read_body())

            def _answer(self, method: str, form: str) -> None:
                status, body, extra = fake.handle(method, urlsplit(self.path).path,
                                                  decode_form(form), self.headers)
                self.reply_json(status, body, headers={"Request-Id": _new_id("req"), **extra})

        return Handler

    def clear(self) -> None:
        """Forget every object, idempotency key and recorded request."""
        with self._lock:
            self.customers: dict[str, dict[str, Any]] = {}
            self.payment_intents: dict[str, dict[str, Any]] = {}
            self.payment_methods: dict[str, dict[str, Any]] = {}
            self.charges: dict[str, dict[str, Any]] = {}
            self.refunds: dict[str, dict[str, Any]] = {}
            self.requests: list[dict[str, Any]] = []  # method, path, idempotency_key, params
            self._behaviour: dict[str, str] = {}  # payment method -> succeeds/declined/3ds
            self._used: set[str] = set()  # payment methods that went through a payment
            self._idempotent: dict[str, tuple[str, dict[str, Any], Reply]] = {}

    # -- what tests drive --------------------------------------------------------------------

    def complete_3ds(self, payment_intent_id: str, succeed: bool = True) -> dict[str, Any]:
        """The customer passes (or fails) 3-D Secure at the bank's page."""
        with self._lock:
            intent = self.payment_intents[payment_intent_id]
            assert intent["status"] == "requires_action", intent["status"]
            intent["next_action"] = None
            if succeed:
                self._succeed(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication. You can "
                               "provide payment_method_data or a new PaymentMethod to attempt "
                               "to fulfill this PaymentIntent again.",
                    "payment_method": copy.deepcopy(self.payment_methods[intent["payment_method"]])}
            return copy.deepcopy(intent)

    def webhook(self, event_type: str, payment_intent_id: str, *, secret: str | None = None,
                timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of a signed event about the PaymentIntent as it is now:
        ``payment_intent.*`` carries the intent, ``charge.refunded`` its charge."""
        with self._lock:
            intent = self.payment_intents[payment_intent_id]
            if event_type.startswith("payment_intent."):
                obj = copy.deepcopy(intent)
            elif event_type == "charge.refunded":
                obj = copy.deepcopy(self.charges[intent["latest_charge"]])
            else:
                raise ValueError(f"FakeStripe makes no {event_type} events")
        event = {"id": _new_id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": int(time.time()), "data": {"object": obj}, "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                 "type": event_type}
        body = json.dumps(event).encode("utf-8")
        signature = stripe_signature(body, secret or self.webhook_secret, timestamp)
        return body, {"Stripe-Signature": signature, "Content-Type": "application/json"}

    # -- the API ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, Any],
               headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One request: auth, idempotency, then the route. Returns (status, body, headers)."""
        key = headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append({"method": method, "path": path, "idempotency_key": key,
                                  "params": params})
            if headers.get("Authorization", "") != f"Bearer {self.api_key}":
                return 401, {"error": {"type": "invalid_request_error",
                                       "message": "Invalid API Key provided: sk_test_****"}}, {}
            if method == "POST" and key and key in self._idempotent:
                # Stripe replays the first answer to the same request, refuses another one.
                first_request, first_params, reply = self._idempotent[key]
                if (first_request, first_params) == (f"{method} {path}", params):
                    return (*copy.deepcopy(reply), {"Idempotent-Replayed": "true"})
                return 400, {"error": {"type": "idempotency_error",
                                       "message": _IDEMPOTENCY_MESSAGE.format(key=key)}}, {}
            reply = self._route(method, path, params)
            # Stripe saves the answer once the endpoint ran: a success or a card error.
            if method == "POST" and key and reply[0] in (200, 402):
                self._idempotent[key] = (f"{method} {path}", params, copy.deepcopy(reply))
            return (*reply, {})

    def _route(self, method: str, path: str, params: dict[str, Any]) -> Reply:
        for verb, pattern, fn in self._routes:
            match = pattern.match(path)
            if verb == method and match:
                try:
                    return fn(params, **match.groupdict())
                except _Refused as refused:
                    return refused.reply
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({method}: {path})."}}

    def _create_customer(self, params: dict[str, Any]) -> Reply:
        customer = {"id": _new_id("cus"), "object": "customer", "created": int(time.time()),
                    "email": params.get("email"), "metadata": params.get("metadata", {}),
                    "livemode": False}
        self.customers[customer["id"]] = customer
        return 200, copy.deepcopy(customer)

    def _create_intent(self, params: dict[str, Any]) -> Reply:
        amount = str(params.get("amount", ""))
        if not amount.isdigit() or int(amount) < 1:
            raise _Refused(400, "invalid_request_error", "Invalid positive integer",
                           "parameter_invalid_integer", "amount")
        if not params.get("currency"):
            raise _Refused(400, "invalid_request_error", "Missing required param: currency.",
                           "parameter_missing", "currency")
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        ref = _new_id("pi")
        intent = {
            "id": ref, "object": "payment_intent", "amount": int(amount), "amount_received": 0,
            "currency": params["currency"], "customer": customer,
            "description": params.get("description"), "metadata": params.get("metadata", {}),
            "status": "requires_payment_method", "client_secret": f"{ref}_secret_{secrets.token_hex(8)}",
            "payment_method": None, "payment_method_types": params.get("payment_method_types", ["card"]),
            "setup_future_usage": params.get("setup_future_usage"), "last_payment_error": None,
            "next_action": None, "latest_charge": None, "capture_method": "automatic",
            "confirmation_method": "automatic", "created": int(time.time()), "livemode": False,
        }
        if params.get("payment_method") and not _true(params.get("confirm")):
            intent["payment_method"] = self._method_for(params["payment_method"], customer)["id"]
            intent["status"] = "requires_confirmation"
        self.payment_intents[ref] = intent
        if _true(params.get("confirm")):
            return self._confirm(intent, params)
        return 200, self._render(intent, params)

    def _get_intent(self, params: dict[str, Any], ref: str) -> Reply:
        if ref not in self.payment_intents:
            raise _missing("payment_intent", ref)
        return 200, self._render(self.payment_intents[ref], params)

    def _confirm_intent(self, params: dict[str, Any], ref: str) -> Reply:
        if ref not in self.payment_intents:
            raise _missing("payment_intent", ref)
        intent = self.payment_intents[ref]
        if intent["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise _Refused(400, "invalid_request_error",
                           f"This PaymentIntent's status is {intent['status']}, it cannot be confirmed.",
                           "payment_intent_unexpected_state")
        return self._confirm(intent, params)

    def _confirm(self, intent: dict[str, Any], params: dict[str, Any]) -> Reply:
        ref = params.get("payment_method") or intent["payment_method"]
        if not ref:
            raise _Refused(400, "invalid_request_error", "You cannot confirm this PaymentIntent "
                           "because it's missing a payment method.",
                           "payment_intent_unexpected_state")
        method = self._method_for(ref, intent["customer"])
        if params.get("setup_future_usage"):
            intent["setup_future_usage"] = params["setup_future_usage"]
        intent.update(payment_method=method["id"], last_payment_error=None, next_action=None)
        self._used.add(method["id"])
        behaviour = self._behaviour[method["id"]]
        if behaviour == "succeeds":
            self._succeed(intent)
        elif behaviour == "declined":
            return self._decline(intent, method, "card_declined", "generic_decline",
                                 "Your card was declined.")
        elif _true(params.get("off_session")):
            return self._decline(intent, method, "authentication_required", "authentication_required",
                                 "Your card was declined. This transaction requires authentication.")
        else:
            intent["status"] = "requires_action"
            page = f"{self.url}/3ds/{intent['id']}"
            intent["next_action"] = (
                {"type": "redirect_to_url",
                 "redirect_to_url": {"url": page, "return_url": params["return_url"]}}
                if params.get("return_url") else
                {"type": "use_stripe_sdk",
                 "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page}})
        return 200, self._render(intent, params)

    def _decline(self, intent: dict[str, Any], method: dict[str, Any], code: str,
                 decline_code: str, message: str) -> Reply:
        """A card error: the intent awaits another card; the 402 carries it."""
        error = {"type": "card_error", "code": code, "decline_code": decline_code,
                 "message": message, "payment_method": copy.deepcopy(method)}
        intent.update(status="requires_payment_method", last_payment_error=error)
        raise _Refused(402, "card_error", message, code, decline_code=decline_code,
                       payment_method=copy.deepcopy(method),
                       payment_intent=self._render(intent, {}))

    def _succeed(self, intent: dict[str, Any]) -> None:
        charge = {"id": _new_id("ch"), "object": "charge", "amount": intent["amount"],
                  "amount_captured": intent["amount"], "amount_refunded": 0, "captured": True,
                  "currency": intent["currency"], "customer": intent["customer"],
                  "metadata": dict(intent["metadata"]), "paid": True, "refunded": False,
                  "payment_intent": intent["id"], "payment_method": intent["payment_method"],
                  "status": "succeeded", "created": int(time.time()), "livemode": False}
        self.charges[charge["id"]] = charge
        intent.update(status="succeeded", amount_received=intent["amount"],
                      latest_charge=charge["id"])
        if intent["setup_future_usage"] and intent["customer"]:
            self.payment_methods[intent["payment_method"]]["customer"] = intent["customer"]

    def _method_for(self, ref: str, customer: str | None) -> dict[str, Any]:
        """The PaymentMethod to charge: a fresh one for a test token, else a saved one."""
        if ref in TEST_METHODS:
            last4, behaviour = TEST_METHODS[ref]
            method = {"id": _new_id("pm"), "object": "payment_method", "type": "card",
                      "card": {"brand": "visa", "last4": last4, "exp_month": 12, "exp_year": 2034,
                               "country": "US", "funding": "credit"},
                      "customer": None, "created": int(time.time()), "livemode": False}
            self.payment_methods[method["id"]] = method
            self._behaviour[method["id"]] = behaviour
            return method
        method = self.payment_methods.get(ref)
        if method is None:
            raise _missing("PaymentMethod", ref, "payment_method")
        if method["customer"] != customer or (method["customer"] is None and ref in self._used):
            raise _Refused(400, "invalid_request_error",
                           "The provided PaymentMethod was previously used with a PaymentIntent "
                           "without Customer attachment, shared with a connected account without "
                           "Customer attachment, or was detached from a Customer. It may not be "
                           "used again.", "payment_method_unexpected_state", "payment_method")
        return method

    def _render(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(intent)
        expand = params.get("expand", [])
        if "latest_charge" in expand and body["latest_charge"]:
            body["latest_charge"] = copy.deepcopy(self.charges[body["latest_charge"]])
        if "payment_method" in expand and body["payment_method"]:
            body["payment_method"] = copy.deepcopy(self.payment_methods[body["payment_method"]])
        return body

    def _create_refund(self, params: dict[str, Any]) -> Reply:
        ref = params.get("payment_intent", "")
        intent = self.payment_intents.get(ref)
        if intent is None:
            raise _missing("payment_intent", ref, "payment_intent")
        if intent["status"] != "succeeded":
            raise _Refused(400, "invalid_request_error", "This PaymentIntent does not have a "
                           "successful charge to refund.", "payment_intent_unexpected_state")
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", left))
        if amount > left:
            raise _Refused(400, "invalid_request_error",
                           f"Refund amount ({amount}) is greater than unrefunded amount on "
                           f"charge ({left})", "amount_too_large", "amount")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {"id": _new_id("re"), "object": "refund", "amount": amount,
                  "charge": charge["id"], "currency": charge["currency"], "payment_intent": ref,
                  "status": "succeeded", "metadata": params.get("metadata", {}),
                  "reason": params.get("reason"), "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        return 200, copy.deepcopy(refund)

    def _list_methods(self, params: dict[str, Any]) -> Reply:
        customer = params.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        found = [copy.deepcopy(m) for m in reversed(self.payment_methods.values())  # newest first
                 if m["customer"] == customer and m["type"] == params.get("type", "card")]
        return 200, {"object": "list", "data": found, "has_more": False, "url": "/v1/payment_methods"}

    def _detach_method(self, params: dict[str, Any], ref: str) -> Reply:
        method = self.payment_methods.get(ref)
        if method is None:
            raise _missing("PaymentMethod", ref)
        if method["customer"] is None:
            raise _Refused(400, "invalid_request_error", "The payment method you provided is not "
                           "attached to a customer so detachment is impossible.",
                           "payment_method_unexpected_state")
        method["customer"] = None
        return 200, copy.deepcopy(method)

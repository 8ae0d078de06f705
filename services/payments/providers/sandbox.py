"""A development provider that behaves like a card form with test cards (``make run``).

``create_payment`` returns ``requires_action`` with ``confirmation_url`` (the sandbox's card
form, served through the gateway); the form calls :meth:`SandboxProvider.pay_with_card`.
Test cards (any future expiry, any 3-digit CVC):

- ``4242 4242 4242 4242``: paid;
- ``4000 0000 0000 0002``: declined (``card_declined``);
- ``4000 0027 6000 3184``: asks for 3-D Secure (``next_action`` ``"3ds"``);
  :meth:`SandboxProvider.confirm_3ds` with code ``111111`` pays, any other code fails
  (``authentication_failed``). Saved, it fails every automatic payment with
  ``authentication_required``, as the same card does at Stripe.

A СБП payment (``method="sbp"``) waits with ``sbp_url``, the sandbox's "bank app" page
(``SANDBOX_SBP_URL``); :meth:`SandboxProvider.approve_sbp` pays or cancels it. A payment or
refund with a 54-ФЗ receipt reports it ``pending`` until paid, then ``succeeded`` (``canceled``
with a canceled payment), as ЮKassa would.

A number failing the Luhn check, a past expiry, a bad CVC or a number that is not a test card
is refused with :class:`InvalidCard`, nothing recorded. Every change of a payment is announced
as a webhook: a JSON body signed like Stripe's (header ``Sandbox-Signature:
t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`` with ``SANDBOX_WEBHOOK_SECRET``), handed to
``on_webhook`` and checked by :meth:`SandboxProvider.parse_webhook`, so the service treats both
providers alike. All state lives in a :class:`SandboxStore` (the service gives one backed by
its database, so it survives restarts and is shared by workers); ids of payments, refunds
and customers derive from the idempotency key or user id, so two workers racing on the same
key write the same record.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol, cast

from services.payments.providers.base import (
    CURRENCY, PAYMENT_CANCELED, PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_REQUIRES_ACTION,
    PAYMENT_SUCCEEDED, CardRef, InvalidCard, Method, NextAction, NotFound, PaymentProvider,
    PaymentStatus, ProviderError, ProviderEvent, ProviderIntent, ProviderRefund, ReceiptStatus,
    RefundStatus, SignatureInvalid, check_amount, check_create_args, event_from_intent, header)

SIGNATURE_HEADER = "Sandbox-Signature"
THREE_DS_CODE = "111111"
# number -> (brand, behaviour)
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("visa", "succeeds"),
    "4000000000000002": ("visa", "declined"),
    "4000002760003184": ("visa", "3ds"),
}
DEFAULT_FORM_URL = "http://127.0.0.1:8000/pay/card/{ref}"
DEFAULT_SBP_URL = "http://127.0.0.1:8000/payments/sandbox-sbp/{ref}"
UNEXPECTED_STATE = "payment_intent_unexpected_state"
_RECORD_STATUSES: dict[str, PaymentStatus] = {
    "awaiting_card": "requires_action", "awaiting_3ds": "requires_action",
    "awaiting_sbp": "requires_action", "succeeded": "succeeded", "failed": "failed",
    "canceled": "canceled",
}
_NEXT_ACTIONS: dict[str, NextAction] = {"awaiting_card": "card_form", "awaiting_3ds": "3ds",
                                        "awaiting_sbp": "sbp"}
_EVENT_TYPES = {"succeeded": PAYMENT_SUCCEEDED, "failed": PAYMENT_FAILED,
                "awaiting_3ds": PAYMENT_REQUIRES_ACTION, "canceled": PAYMENT_CANCELED}
_RECEIPT_STATUSES: dict[str, ReceiptStatus] = {"succeeded": "succeeded", "canceled": "canceled"}


class SandboxStore(Protocol):
    """Where the sandbox keeps its records: JSON-able dicts by ref."""

    def get(self, ref: str) -> dict[str, Any] | None: ...

    def put(self, ref: str, value: dict[str, Any]) -> None: ...


class MemoryStore:
    """A SandboxStore in this process's memory (unit tests). Values go through JSON, as in a
    database column, so a caller never shares a dict with the store."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, ref: str) -> dict[str, Any] | None:
        """The record stored under ``ref``, or None."""
        with self._lock:
            raw = self._data.get(ref)
        return None if raw is None else json.loads(raw)

    def put(self, ref: str, value: dict[str, Any]) -> None:
        """Store (or replace) the record under ``ref``."""
        raw = json.dumps(value)
        with self._lock:
            self._data[ref] = raw


WebhookSink = Callable[[bytes, dict[str, str]], None]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SandboxProvider(PaymentProvider):
    """A card form with test cards; see the module docstring.

    ``form_url`` is the card form's address with ``{ref}`` for the payment (the 3-D Secure
    page is the same plus ``/3ds``), ``sbp_url`` the "bank app" page of a СБП payment;
    ``on_webhook(body, headers)`` receives each signed event;
    ``now`` is the clock (card expiry, event times, signature age).
    """

    name = "sandbox"
    methods = ("card", "sbp")
    receipts = True

    def __init__(self, store: SandboxStore, webhook_secret: str, *,
                 form_url: str = DEFAULT_FORM_URL, sbp_url: str = DEFAULT_SBP_URL,
                 on_webhook: WebhookSink | None = None,
                 now: Callable[[], datetime] = _utcnow, webhook_tolerance: int = 300) -> None:
        if not webhook_secret:
            raise ValueError("SANDBOX_WEBHOOK_SECRET is required for the sandbox provider")
        self.store = store
        self.webhook_secret = webhook_secret
        self.form_url = form_url
        self.sbp_url = sbp_url
        self.on_webhook = on_webhook
        self.now = now
        self.webhook_tolerance = webhook_tolerance

    # -- the PaymentProvider interface -----------------------------------------------------

    def ensure_customer(self, user_id: str, email: str | None) -> str:
        """The sandbox customer of the user (one per user id); updates its e-mail."""
        ref = _derived_ref("cus", user_id)
        customer = self.store.get(ref)
        if customer is None or customer["email"] != email:
            customer = customer or {"id": ref, "user_id": user_id, "cards": []}
            customer["email"] = email
            self.store.put(ref, customer)
        return ref

    def create_payment(self, *, payment_id: str, amount_kopecks: int, description: str,
                       customer_ref: str | None, save_card: bool, saved_card_ref: str | None,
                       idempotency_key: str, metadata: dict[str, str], method: Method = "card",
                       receipt: dict[str, Any] | None = None) -> ProviderIntent:
        """A payment awaiting the card form (or, by СБП, the "bank app"), or an automatic one
        charged to the saved card."""
        check_create_args(amount_kopecks, customer_ref, save_card, saved_card_ref, method,
                          self.methods)
        params = {"payment_id": payment_id, "amount": amount_kopecks, "description": description,
                  "customer": customer_ref, "save_card": save_card, "saved_card": saved_card_ref,
                  "metadata": metadata, "method": method, "receipt": receipt}
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        ref = _derived_ref("pi", idempotency_key)
        existing = self.store.get(ref)
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise ProviderError(f"idempotency key {idempotency_key!r} was used with other "
                                    "arguments", "idempotency_error")
            return self._view(existing)
        if customer_ref:
            self._load(customer_ref, "cus", "customer")
        card = self._saved_card(saved_card_ref, customer_ref) if saved_card_ref else None
        payment = {
            "id": ref, "fingerprint": fingerprint, "amount": amount_kopecks, "currency": CURRENCY,
            "description": description, "customer": customer_ref,
            "metadata": {**metadata, "payment_id": payment_id}, "save_card": save_card,
            "status": "awaiting_sbp" if method == "sbp" else "awaiting_card", "card": None,
            "card_saved": False, "failure_reason": None, "failure_message": None, "refunded": 0,
            "created": self.now().isoformat(), "method": method, "receipt": receipt is not None,
        }
        if card is None:
            self.store.put(ref, payment)
            return self._view(payment)
        # An automatic payment: the saved card is charged now, the customer is not there.
        payment.update(card=_card_summary(card), card_saved=True)
        if card["behaviour"] == "3ds":
            _fail(payment, "authentication_required",
                  "Банк требует подтверждения 3-D Secure: автоплатёж по этой карте невозможен")
        else:
            payment["status"] = "succeeded"
        return self._save_and_announce(payment)

    def retrieve(self, provider_ref: str) -> ProviderIntent:
        """The payment as the sandbox has it."""
        return self._view(self._load(provider_ref, "pi", "payment"))

    def refund(self, provider_ref: str, amount_kopecks: int, idempotency_key: str,
               receipt: dict[str, Any] | None = None) -> ProviderRefund:
        """Refund at once (the sandbox has no bank to wait for), its receipt registered."""
        check_amount(amount_kopecks)
        refund_ref = _derived_ref("re", idempotency_key)
        refund = self.store.get(refund_ref)
        if refund is not None:
            if (refund["payment"], refund["amount"]) != (provider_ref, amount_kopecks):
                raise ProviderError(f"idempotency key {idempotency_key!r} was used with other "
                                    "arguments", "idempotency_error")
            return _refund_view(refund)
        payment = self._load(provider_ref, "pi", "payment")
        if payment["status"] != "succeeded":
            raise ProviderError(f"payment {provider_ref} is {payment['status']}, nothing to refund",
                                UNEXPECTED_STATE)
        left = payment["amount"] - payment["refunded"]
        if amount_kopecks > left:
            raise ProviderError(f"refund of {amount_kopecks} exceeds the {left} kopecks not yet "
                                "refunded", "amount_too_large")
        refund = {"id": refund_ref, "payment": provider_ref, "amount": amount_kopecks,
                  "currency": payment["currency"], "status": "succeeded",
                  "created": self.now().isoformat(), "receipt": receipt is not None}
        # The refund first: a crash before the payment is updated cannot refund twice on retry.
        self.store.put(refund_ref, refund)
        payment["refunded"] += amount_kopecks
        self.store.put(provider_ref, payment)
        self._announce(PAYMENT_REFUNDED, payment)
        return _refund_view(refund)

    def retrieve_refund(self, refund_ref: str) -> ProviderRefund | None:
        """The refund as the sandbox has it."""
        return _refund_view(self._load(refund_ref, "re", "refund"))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Check ``Sandbox-Signature`` (HMAC and age) and read the event."""
        self._verify(body, header(headers, SIGNATURE_HEADER))
        try:
            event = json.loads(body)
            intent = self._view(event["data"]["object"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"malformed sandbox event: {exc!r}", "malformed_event") from exc
        return event_from_intent(event_id=event["id"], type=event["type"], raw_type=event["type"],
                                 created=datetime.fromtimestamp(event["created"], timezone.utc),
                                 intent=intent)

    def list_cards(self, customer_ref: str) -> list[CardRef]:
        """The customer's saved cards, oldest first."""
        customer = self._load(customer_ref, "cus", "customer")
        cards = (self.store.get(ref) for ref in customer["cards"])
        return [CardRef(**_card_summary(card)) for card in cards
                if card is not None and card["customer"] == customer_ref]

    def detach_card(self, card_ref: str) -> None:
        """Forget the saved card; automatic payments with it are refused from now on."""
        card = self._load(card_ref, "pm", "card")
        if card["customer"] is None:
            raise ProviderError(f"card {card_ref} is not saved for anyone",
                                "payment_method_unexpected_state")
        customer = self._load(card["customer"], "cus", "customer")
        customer["cards"] = [ref for ref in customer["cards"] if ref != card_ref]
        card["customer"] = None
        self.store.put(card_ref, card)
        self.store.put(customer["id"], customer)

    # -- the card form ---------------------------------------------------------------------

    def pay_with_card(self, provider_ref: str, card_number: str, exp_month: int | str,
                      exp_year: int | str, cvc: str, save_card: bool = False) -> ProviderIntent:
        """The customer submitted the card form. Returns ``succeeded``, ``failed``
        (``card_declined``) or ``requires_action`` (3-D Secure). Raises InvalidCard for card
        details a form would refuse, ProviderError ``payment_intent_unexpected_state`` when
        the payment no longer takes a card (paid already)."""
        payment = self._load(provider_ref, "pi", "payment")
        if payment["status"] not in ("awaiting_card", "awaiting_3ds", "failed"):
            raise ProviderError(f"payment {provider_ref} is {payment['status']}: it takes no card",
                                UNEXPECTED_STATE)
        number, brand, behaviour, month, year = self._check_card(card_number, exp_month, exp_year, cvc)
        save = bool(save_card or payment["save_card"])
        if save and not payment["customer"]:
            raise ProviderError("a card can be saved only for a payment with a customer",
                                "customer_required")
        card = {"id": "pm_sbx_" + secrets.token_hex(12), "brand": brand, "last4": number[-4:],
                "exp_month": month, "exp_year": year, "behaviour": behaviour, "customer": None}
        self.store.put(card["id"], card)
        payment.update(card=_card_summary(card), card_saved=False, save_card=save,
                       failure_reason=None, failure_message=None)
        if behaviour == "succeeds":
            self._succeed(payment, card)
        elif behaviour == "declined":
            _fail(payment, "card_declined", "Банк отклонил карту")
        else:
            payment["status"] = "awaiting_3ds"
        return self._save_and_announce(payment)

    def confirm_3ds(self, provider_ref: str, code: str) -> ProviderIntent:
        """The customer entered the 3-D Secure code: ``111111`` pays, anything else fails."""
        payment = self._load(provider_ref, "pi", "payment")
        if payment["status"] != "awaiting_3ds":
            raise ProviderError(f"payment {provider_ref} is {payment['status']}: no 3-D Secure "
                                "step is open", UNEXPECTED_STATE)
        if hmac.compare_digest(str(code).strip(), THREE_DS_CODE):
            self._succeed(payment, self._load(payment["card"]["ref"], "pm", "card"))
        else:
            _fail(payment, "authentication_failed", "Неверный код подтверждения 3-D Secure")
        return self._save_and_announce(payment)

    def approve_sbp(self, provider_ref: str, approve: bool) -> ProviderIntent:
        """The customer, in the sandbox's "bank app", confirms the СБП payment (paid) or
        declines it (canceled)."""
        payment = self._load(provider_ref, "pi", "payment")
        if payment["status"] != "awaiting_sbp":
            raise ProviderError("Оплата через СБП уже завершена или отменена: подтверждать "
                                "нечего", UNEXPECTED_STATE)
        if approve:
            payment["status"] = "succeeded"
        else:
            payment.update(status="canceled", failure_reason="canceled_by_customer",
                           failure_message="Оплата отменена в приложении банка")
        return self._save_and_announce(payment)

    # -- internals -------------------------------------------------------------------------

    def _check_card(self, card_number: str, exp_month: int | str, exp_year: int | str,
                    cvc: str) -> tuple[str, str, str, int, int]:
        """(number, brand, behaviour, month, 4-digit year), or InvalidCard."""
        number = re.sub(r"[\s-]", "", str(card_number))
        if not re.fullmatch(r"\d{12,19}", number) or not luhn_valid(number):
            raise InvalidCard("Неверный номер карты", "invalid_number", "card_number")
        month, year = _as_int(exp_month), _as_int(exp_year)
        if month is None or not 1 <= month <= 12:
            raise InvalidCard("Неверный месяц срока действия", "invalid_expiry", "exp_month")
        if year is None or year < 0:
            raise InvalidCard("Неверный год срока действия", "invalid_expiry", "exp_year")
        year += 2000 if year < 100 else 0
        today = self.now()
        if (year, month) < (today.year, today.month):  # valid through the last day of its month
            raise InvalidCard("Срок действия карты истёк", "expired_card", "exp_year")
        if not re.fullmatch(r"\d{3}", str(cvc)):
            raise InvalidCard("CVC — три цифры с обратной стороны карты", "invalid_cvc", "cvc")
        if number not in TEST_CARDS:
            raise InvalidCard("В песочнице принимаются только тестовые карты: 4242 4242 4242 4242 "
                              "(оплата проходит), 4000 0000 0000 0002 (отказ банка), "
                              "4000 0027 6000 3184 (3-D Secure, код 111111)", "unknown_test_card")
        brand, behaviour = TEST_CARDS[number]
        return number, brand, behaviour, month, year

    def _succeed(self, payment: dict[str, Any], card: dict[str, Any]) -> None:
        payment["status"] = "succeeded"
        if payment["save_card"]:
            customer = self._load(payment["customer"], "cus", "customer")
            card["customer"] = customer["id"]
            customer["cards"].append(card["id"])
            self.store.put(card["id"], card)
            self.store.put(customer["id"], customer)
            payment["card_saved"] = True

    def _saved_card(self, card_ref: str, customer_ref: str | None) -> dict[str, Any]:
        card = self._load(card_ref, "pm", "card")
        if card["customer"] is None or card["customer"] != customer_ref:
            raise ProviderError(f"card {card_ref} is not saved for customer {customer_ref}",
                                "payment_method_unexpected_state")
        return card

    def _load(self, ref: str, prefix: str, what: str) -> dict[str, Any]:
        record = self.store.get(ref) if ref.startswith(f"{prefix}_sbx_") else None
        if record is None:
            raise NotFound(f"no such {what}: {ref}")
        return record

    def _save_and_announce(self, payment: dict[str, Any]) -> ProviderIntent:
        self.store.put(payment["id"], payment)
        self._announce(_EVENT_TYPES[payment["status"]], payment)
        return self._view(payment)

    def _announce(self, event_type: str, payment: dict[str, Any]) -> None:
        """Sign the event and hand it over, as the provider's webhook would arrive."""
        if self.on_webhook is None:
            return  # nobody listens: the service reconciles with retrieve()
        snapshot = {k: v for k, v in payment.items() if k != "fingerprint"}
        event = {"id": "evt_sbx_" + secrets.token_hex(12), "object": "event", "type": event_type,
                 "created": int(self.now().timestamp()), "data": {"object": snapshot}}
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        self.on_webhook(body, {SIGNATURE_HEADER: self.signature(body), "Content-Type": "application/json"})

    def signature(self, body: bytes, timestamp: int | None = None) -> str:
        """The ``Sandbox-Signature`` header value of ``body`` (now, or at ``timestamp``)."""
        t = int(self.now().timestamp()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        return f"t={t},v1={mac.hexdigest()}"

    def _verify(self, body: bytes, signature: str | None) -> None:
        if not signature:
            raise SignatureInvalid(f"no {SIGNATURE_HEADER} header")
        parts = [item.split("=", 1) for item in signature.split(",")]
        stamps = [value for key, value in (p for p in parts if len(p) == 2) if key == "t"]
        given = [value for key, value in (p for p in parts if len(p) == 2) if key == "v1"]
        if len(stamps) != 1 or not stamps[0].isdigit() or not given:
            raise SignatureInvalid(f"malformed {SIGNATURE_HEADER} header")
        expected = self.signature(body, int(stamps[0])).rpartition("v1=")[2]
        if not any(hmac.compare_digest(expected, value) for value in given):
            raise SignatureInvalid("signature does not match the body")
        if int(stamps[0]) < self.now().timestamp() - self.webhook_tolerance:
            raise SignatureInvalid("signature too old (a replayed capture?)")

    def _view(self, payment: dict[str, Any]) -> ProviderIntent:
        ref, raw = payment["id"], payment["status"]
        form = self.form_url.format(ref=ref)
        card = CardRef(**payment["card"]) if payment.get("card") else None
        return ProviderIntent(
            provider_ref=ref, status=_RECORD_STATUSES[raw], raw_status=raw,
            amount_kopecks=payment["amount"], currency=payment["currency"],
            customer_ref=payment["customer"],
            # Derived, not stored: the same for every worker and never in an event.
            client_secret=f"{ref}_secret_{_digest(self.webhook_secret, ref)[:24]}",
            # A failed payment takes another card at the same form.
            confirmation_url={"awaiting_card": form, "awaiting_3ds": form + "/3ds",
                              "failed": form}.get(raw),
            next_action=_NEXT_ACTIONS.get(raw),
            failure_reason=payment["failure_reason"], failure_message=payment["failure_message"],
            payment_method_ref=card.ref if card else None, card=card,
            card_saved=payment["card_saved"], refunded_kopecks=payment["refunded"],
            metadata=dict(payment["metadata"]), method=payment.get("method", "card"),
            sbp_url=self.sbp_url.format(ref=ref) if raw == "awaiting_sbp" else None,
            receipt_status=(_RECEIPT_STATUSES.get(raw, "pending") if payment.get("receipt")
                            else None))


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every card number carries (catches one mistyped digit)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _fail(payment: dict[str, Any], reason: str, message: str) -> None:
    payment.update(status="failed", failure_reason=reason, failure_message=message)


def _card_summary(card: dict[str, Any]) -> dict[str, Any]:
    return {"ref": card["id"], "brand": card["brand"], "last4": card["last4"],
            "exp_month": card["exp_month"], "exp_year": card["exp_year"]}


def _refund_view(refund: dict[str, Any]) -> ProviderRefund:
    return ProviderRefund(refund_ref=refund["id"], provider_ref=refund["payment"],
                          amount_kopecks=refund["amount"], currency=refund["currency"],
                          status=cast(RefundStatus, refund["status"]),
                          receipt_status="succeeded" if refund.get("receipt") else None)


def _derived_ref(prefix: str, key: str) -> str:
    return f"{prefix}_sbx_" + hashlib.sha256(f"{prefix}\x1f{key}".encode()).hexdigest()[:24]


def _digest(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _as_int(value: int | str) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None

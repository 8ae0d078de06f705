"""ЮKassa through its official SDK (``yookassa``): bank cards (Мир), СБП, 54-ФЗ receipts.

Every payment is created with ``capture: true`` and our idempotency key in ``Idempotence-Key``
(derived from our payment id, so a retry finds the same payment). A card payment waits on
ЮKassa's page (confirmation ``redirect``, back to the cabinet's result page); a СБП payment
(``payment_method_data: {type: sbp}``) waits for the bank's app: confirmation ``qr``, whose
``confirmation_data`` is the НСПК link (a button on a phone, a QR code on a computer). A card
payment with ``save_card`` carries ``save_payment_method``; once ЮKassa says the method is
saved, it is kept here under the customer (ЮKassa has no customers of its own), in the
provider's store, and an automatic payment charges it by ``payment_method_id``.

ЮKassa signs no notifications: :meth:`YooKassaProvider.parse_webhook` takes one only as a
hint, reads the payment back from the API and reports what the API says (a forged
notification cannot move money), optionally also checking the sender's address against
ЮKassa's published ranges. The receipt travels with the payment or refund; its state is
``receipt_registration``.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import requests
from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import (ApiError, BadRequestError, ForbiddenError,
                                        NotFoundError, UnauthorizedError)

from services.payments.providers.base import (
    CURRENCY, IGNORED, PAYMENT_CANCELED, PAYMENT_PENDING, PAYMENT_REFUNDED,
    PAYMENT_REQUIRES_ACTION, PAYMENT_SUCCEEDED, CardRef, Method, NextAction, NotFound,
    PaymentProvider, PaymentStatus, ProviderError, ProviderEvent, ProviderIntent,
    ProviderRefund, ProviderUnavailable, ReceiptStatus, RefundStatus, SignatureInvalid,
    check_amount, check_create_args, event_from_intent, header)
from services.payments.providers.sandbox import MemoryStore, SandboxStore

DEFAULT_API_URL = "https://api.yookassa.ru/v3"
# Where ЮKassa sends notifications from (its documentation, «Входящие уведомления»).
NOTIFICATION_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "185.71.76.0/27", "185.71.77.0/27", "77.75.153.0/25", "77.75.156.11/32",
    "77.75.156.35/32", "77.75.154.128/25", "2a02:5180::/32"))
CLIENT_IP_HEADER = "Remote-Addr"  # set by the gateway from the connection, not by the sender
_EVENTS = {"succeeded": PAYMENT_SUCCEEDED, "canceled": PAYMENT_CANCELED,
           "waiting_for_capture": PAYMENT_PENDING}
_REFUND_STATUSES: dict[str, RefundStatus] = {"pending": "pending", "succeeded": "succeeded",
                                              "canceled": "canceled"}
_RECEIPT_STATUSES: dict[str, ReceiptStatus] = {"pending": "pending", "succeeded": "succeeded",
                                                "canceled": "canceled"}


class YooKassaProvider(PaymentProvider):
    """ЮKassa payments. ``api_url`` replaces https://api.yookassa.ru/v3 (tests: the fake);
    ``return_url`` is the cabinet's result page (``{payment_id}``: ours); ``store`` keeps
    the customers' saved cards; ``check_ip`` refuses notifications from other addresses."""

    name = "yookassa"
    methods = ("card", "sbp")
    receipts = True
    receipt_contact_required = True

    def __init__(self, shop_id: str, secret_key: str, *, api_url: str = "",
                 return_url: str = "http://127.0.0.1:8000/pay/result/{payment_id}",
                 store: SandboxStore | None = None, check_ip: bool = True) -> None:
        if not shop_id or not secret_key:
            raise ValueError("YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY are required for the "
                             "yookassa provider")
        # The SDK keeps its settings on a class: one shop per process, as configured.
        Configuration.configure(shop_id, secret_key,
                                api_url=(api_url or DEFAULT_API_URL).rstrip("/"),
                                timeout=1000, max_attempts=2)
        self.return_url = return_url
        self.store: SandboxStore = store if store is not None else MemoryStore()
        self.check_ip = check_ip

    # -- the PaymentProvider interface -----------------------------------------------------

    def ensure_customer(self, user_id: str, email: str | None) -> str:
        """Our own record of the user's saved cards (ЮKassa keeps none per customer)."""
        ref = "yk_cus_" + hashlib.sha256(f"cus\x1f{user_id}".encode()).hexdigest()[:24]
        if self.store.get(ref) is None:
            self.store.put(ref, {"id": ref, "cards": []})
        return ref

    def create_payment(self, *, payment_id: str, amount_kopecks: int, description: str,
                       customer_ref: str | None, save_card: bool, saved_card_ref: str | None,
                       idempotency_key: str, metadata: dict[str, str], method: Method = "card",
                       receipt: dict[str, Any] | None = None) -> ProviderIntent:
        """A payment with automatic capture; see :meth:`PaymentProvider.create_payment`."""
        check_create_args(amount_kopecks, customer_ref, save_card, saved_card_ref, method,
                          self.methods)
        params: dict[str, Any] = {
            "amount": _amount(amount_kopecks), "capture": True,
            "description": description[:128],
            "metadata": {**metadata, "payment_id": payment_id,
                         **({"customer_ref": customer_ref} if customer_ref else {})},
        }
        if receipt is not None:
            params["receipt"] = _receipt(receipt)
        if saved_card_ref:
            if saved_card_ref not in self._customer(customer_ref)["cards"]:
                raise ProviderError(f"card {saved_card_ref} is not saved for {customer_ref}",
                                    "payment_method_unexpected_state")
            params["payment_method_id"] = saved_card_ref  # charged now, no customer present
        elif method == "sbp":
            params["payment_method_data"] = {"type": "sbp"}
            params["confirmation"] = {"type": "qr"}
        else:
            params["payment_method_data"] = {"type": "bank_card"}
            params["confirmation"] = {"type": "redirect",
                                      "return_url": self.return_url.format(payment_id=payment_id)}
            if save_card:
                params["save_payment_method"] = True
        with _translated():
            payment = Payment.create(params, idempotency_key)
        return self._intent(dict(payment))

    def retrieve(self, provider_ref: str) -> ProviderIntent:
        """The payment now, as ЮKassa's API has it."""
        with _translated():
            payment = Payment.find_one(provider_ref)
        return self._intent(dict(payment))

    def refund(self, provider_ref: str, amount_kopecks: int, idempotency_key: str,
               receipt: dict[str, Any] | None = None) -> ProviderRefund:
        """A refund of ``amount_kopecks`` with its receipt."""
        check_amount(amount_kopecks)
        params: dict[str, Any] = {"payment_id": provider_ref, "amount": _amount(amount_kopecks)}
        if receipt is not None:
            params["receipt"] = _receipt(receipt)
        with _translated():
            refund = Refund.create(params, idempotency_key)
        return _refund(dict(refund))

    def retrieve_refund(self, refund_ref: str) -> ProviderRefund | None:
        """The refund now (its receipt's state)."""
        with _translated():
            refund = Refund.find_one(refund_ref)
        return _refund(dict(refund))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """A notification names a payment (or a refund of one); the payment is read back
        from the API and the event says what the API says, never what the body claims."""
        if self.check_ip and not _from_yookassa(header(headers, CLIENT_IP_HEADER)):
            raise SignatureInvalid("the notification does not come from ЮKassa's addresses",
                                   "sender_not_allowed")
        try:
            note = json.loads(body)
            raw_type = str(note["event"])
            obj = note["object"]
            ref = str(obj["payment_id"] if raw_type.startswith("refund.") else obj["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"malformed ЮKassa notification: {exc!r}",
                                "malformed_event") from exc
        try:
            intent = self.retrieve(ref)
        except NotFound as exc:  # no such payment at ЮKassa: a forgery
            raise ProviderError(f"ЮKassa knows no payment {ref}", "unknown_payment") from exc
        event_type = (PAYMENT_REFUNDED if raw_type.startswith("refund.")
                      else _EVENTS.get(intent.raw_status, PAYMENT_REQUIRES_ACTION))
        if not raw_type.startswith(("payment.", "refund.")):
            event_type = IGNORED
        # No event ids at ЮKassa: the state read back is the identity, so a repeated
        # notification is a duplicate and a forged early one cannot shadow the real one.
        event_id = (f"yookassa:{ref}:{intent.raw_status}:{intent.refunded_kopecks}:"
                    f"{intent.receipt_status or '-'}")
        return event_from_intent(event_id=event_id[:100], type=event_type, raw_type=raw_type,
                                 created=datetime.now(timezone.utc), intent=intent)

    def list_cards(self, customer_ref: str) -> list[CardRef]:
        """The cards saved for the customer (by earlier payments with ``save_card``)."""
        cards = (self.store.get(_card_key(ref)) for ref in self._customer(customer_ref)["cards"])
        return [CardRef(**{k: v for k, v in card.items() if k != "customer"})
                for card in cards if card is not None]

    def detach_card(self, card_ref: str) -> None:
        """Forget the saved card: no automatic payment charges it again. (ЮKassa's API
        deletes no saved method; unused here, it is never charged.)"""
        card = self.store.get(_card_key(card_ref))
        if card is None:
            raise NotFound(f"no such card: {card_ref}")
        customer = self._customer(card.pop("customer"))
        customer["cards"] = [ref for ref in customer["cards"] if ref != card_ref]
        self.store.put(customer["id"], customer)

    # -- internals -------------------------------------------------------------------------

    def _customer(self, customer_ref: str | None) -> dict[str, Any]:
        record = self.store.get(customer_ref) if customer_ref else None
        if record is None:
            raise NotFound(f"no such customer: {customer_ref}")
        return record

    def _intent(self, payment: dict[str, Any]) -> ProviderIntent:
        """A ProviderIntent from ЮKassa's payment JSON; a card it says is saved is kept
        under the customer named in the metadata."""
        raw = payment["status"]
        confirmation = payment.get("confirmation") or {}
        method_data = payment.get("payment_method") or {}
        method: Method = "sbp" if method_data.get("type") == "sbp" else "card"
        metadata = {k: str(v) for k, v in (payment.get("metadata") or {}).items()}
        status, next_action = _status(raw, confirmation)
        card = _card(method_data)
        saved = bool(card and method_data.get("saved") and raw == "succeeded")
        if saved and card and metadata.get("customer_ref"):
            self._keep_card(metadata["customer_ref"], card)
        cancel = payment.get("cancellation_details") or {}
        link = confirmation.get("confirmation_url") or confirmation.get("confirmation_data")
        return ProviderIntent(
            provider_ref=payment["id"], status=status, raw_status=raw,
            amount_kopecks=_kopecks(payment["amount"]),
            currency=payment["amount"].get("currency", CURRENCY),
            customer_ref=metadata.get("customer_ref"),
            confirmation_url=link if status == "requires_action" else None,
            next_action=next_action,
            failure_reason=cancel.get("reason") if status == "canceled" else None,
            failure_message=cancel.get("party") if status == "canceled" else None,
            payment_method_ref=method_data.get("id"), card=card, card_saved=saved,
            refunded_kopecks=_kopecks(payment.get("refunded_amount") or {"value": "0"}),
            metadata=metadata, method=method,
            sbp_url=link if method == "sbp" and status == "requires_action" else None,
            receipt_status=_receipt_status(payment.get("receipt_registration"), status))

    def _keep_card(self, customer_ref: str, card: CardRef) -> None:
        customer = self.store.get(customer_ref)
        if customer is None or card.ref in customer["cards"]:
            return
        self.store.put(_card_key(card.ref), {**card.__dict__, "customer": customer_ref})
        customer["cards"].append(card.ref)
        self.store.put(customer_ref, customer)


@contextmanager
def _translated() -> Iterator[None]:
    """The SDK's exceptions as ours; the service knows nothing of the SDK."""
    try:
        yield
    except NotFoundError as exc:
        raise NotFound(_message(exc)) from exc
    except (UnauthorizedError, ForbiddenError) as exc:
        raise ProviderError(f"ЮKassa refused our shop's keys: {_message(exc)}",
                            "provider_auth_failed") from exc
    except BadRequestError as exc:
        content = exc.content or {}
        code = ("idempotency_error" if "dempoten" in str(content.get("description", ""))
                else content.get("code") or "invalid_request")
        raise ProviderError(_message(exc), code) from exc
    except ApiError as exc:  # 429, 5xx, a 202 "still processing": retry with the same key
        raise ProviderUnavailable(f"ЮKassa failed or is busy: {_message(exc)}") from exc
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"ЮKassa unreachable: {exc}") from exc
    except AttributeError as exc:
        # The SDK reads ``.response`` of a connection error, which has none.
        if isinstance(exc.__context__, requests.RequestException):
            raise ProviderUnavailable(f"ЮKassa unreachable: {exc.__context__}") from exc
        raise


def _message(exc: ApiError) -> str:
    content = exc.content or {}
    return str(content.get("description") or content.get("code") or exc)


def _status(raw: str, confirmation: dict[str, Any]) -> tuple[PaymentStatus, NextAction | None]:
    if raw == "succeeded":
        return "succeeded", None
    if raw == "canceled":
        return "canceled", None
    if raw == "pending" and confirmation:
        kind = confirmation.get("type")
        return "requires_action", "sbp" if kind == "qr" else "redirect"
    return "pending", None  # waiting_for_capture, or pending without the customer


def _receipt_status(registration: str | None, status: str) -> ReceiptStatus | None:
    """The receipt's state: ЮKassa's ``receipt_registration`` once it has one (after the
    payment succeeds); before, pending, or canceled with the payment."""
    if registration:
        return _RECEIPT_STATUSES.get(registration)
    return "canceled" if status == "canceled" else "pending"


def _amount(kopecks: int) -> dict[str, str]:
    return {"value": f"{kopecks // 100}.{kopecks % 100:02d}", "currency": CURRENCY}


def _kopecks(amount: Mapping[str, Any]) -> int:
    whole, _, part = str(amount.get("value", "0")).partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


def _receipt(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """Our receipt as ЮKassa's ``receipt`` object (phone: digits only, as E.164 wants)."""
    customer = {k: v.lstrip("+") if k == "phone" else v
                for k, v in receipt["customer"].items() if k in ("email", "phone") and v}
    return {"customer": customer, "tax_system_code": receipt["tax_system_code"],
            "items": [{"description": item["description"], "quantity": item["quantity"],
                       "amount": {"value": item["amount"], "currency": CURRENCY},
                       "vat_code": item["vat_code"], "payment_subject": item["payment_subject"],
                       "payment_mode": item["payment_mode"]} for item in receipt["items"]]}


def _refund(refund: dict[str, Any]) -> ProviderRefund:
    return ProviderRefund(refund_ref=refund["id"], provider_ref=refund["payment_id"],
                          amount_kopecks=_kopecks(refund["amount"]),
                          currency=refund["amount"].get("currency", CURRENCY),
                          status=_REFUND_STATUSES.get(refund["status"], "pending"),
                          receipt_status=_RECEIPT_STATUSES.get(
                              refund.get("receipt_registration") or ""))


def _card(method: Mapping[str, Any]) -> CardRef | None:
    card = method.get("card")
    if method.get("type") != "bank_card" or not isinstance(card, Mapping):
        return None
    return CardRef(ref=method["id"], brand=str(card.get("card_type") or "card"),
                   last4=str(card.get("last4", "")), exp_month=int(card.get("expiry_month") or 0),
                   exp_year=int(card.get("expiry_year") or 0))


def _card_key(card_ref: str) -> str:
    return "yk_pm_" + card_ref


def _from_yookassa(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip in net for net in NOTIFICATION_NETWORKS)

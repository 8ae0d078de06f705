"""Stripe through its official SDK: PaymentIntents in RUB, saved cards, refunds, webhooks.

A payment is a PaymentIntent. Without a saved card it awaits the customer's card, which the
front end confirms with Stripe.js and ``client_secret``; with ``save_card`` it carries
``setup_future_usage=off_session``, so Stripe attaches the card to the customer once paid.
An automatic payment is created with the saved card, ``off_session`` and ``confirm``, and
Stripe answers at once. Every POST carries our idempotency key, so a retry after a timeout
never charges twice. Webhooks are checked by the SDK's own ``construct_event``
(``stripe.Webhook``: HMAC of ``Stripe-Signature`` and its age) with the endpoint's secret.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

import stripe

from services.payments.providers.base import (
    CURRENCY, IGNORED, PAYMENT_CANCELED, PAYMENT_FAILED, PAYMENT_PENDING, PAYMENT_REFUNDED,
    PAYMENT_REQUIRES_ACTION, PAYMENT_SUCCEEDED, CardRef, Method, NextAction, NotFound,
    PaymentProvider,
    PaymentStatus, ProviderError, ProviderEvent, ProviderIntent, ProviderRefund,
    ProviderUnavailable, RefundStatus, SignatureInvalid, check_amount, check_create_args,
    event_from_intent, header)

_EVENT_TYPES = {
    "payment_intent.succeeded": PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": PAYMENT_FAILED,
    "payment_intent.requires_action": PAYMENT_REQUIRES_ACTION,
    "payment_intent.processing": PAYMENT_PENDING,
    "payment_intent.canceled": PAYMENT_CANCELED,
    "charge.refunded": PAYMENT_REFUNDED,
}
# Stripe's error codes that mean the same as the sandbox's; others pass through as they are.
_FAILURE_REASONS = {
    "payment_intent_authentication_failure": "authentication_failed",
}
_REFUND_STATUSES: dict[str, RefundStatus] = {
    "pending": "pending", "requires_action": "pending", "succeeded": "succeeded",
    "failed": "failed", "canceled": "canceled"}
# Expanded on every PaymentIntent we read: the refunded total and the card (and whether it is
# now the customer's) come with the payment in one request.
_EXPAND = ["latest_charge", "payment_method"]


class StripeProvider(PaymentProvider):
    """Stripe card payments. ``api_base`` replaces https://api.stripe.com (tests: the fake)."""

    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, *, api_base: str = "",
                 timeout: float = 20, max_network_retries: int = 2,
                 webhook_tolerance: int = stripe.Webhook.DEFAULT_TOLERANCE) -> None:
        if not api_key:
            raise ValueError("STRIPE_API_KEY is required for the stripe provider")
        if not webhook_secret:
            raise ValueError("STRIPE_WEBHOOK_SECRET is required for the stripe provider")
        self.webhook_secret = webhook_secret
        self.webhook_tolerance = webhook_tolerance
        # Retries are safe: every POST carries an idempotency key (ours, or the SDK's own).
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def ensure_customer(self, user_id: str, email: str | None) -> str:
        """A Stripe Customer for the user, with ``metadata.user_id``. Stripe keeps idempotency
        keys for 24 hours, so a concurrent or retried call makes one customer; the service keeps
        the returned ref and does not call this again for the user."""
        params: dict[str, Any] = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
        # The e-mail is in the key: the same key with another e-mail would be refused.
        key = "customer-" + hashlib.sha256(f"{user_id}\x1f{email or ''}".encode()).hexdigest()[:32]
        with _translated():
            customer = self.client.v1.customers.create(params, {"idempotency_key": key})
        return customer.id

    def create_payment(self, *, payment_id: str, amount_kopecks: int, description: str,
                       customer_ref: str | None, save_card: bool, saved_card_ref: str | None,
                       idempotency_key: str, metadata: dict[str, str], method: Method = "card",
                       receipt: dict[str, Any] | None = None) -> ProviderIntent:
        """A PaymentIntent in RUB; see :meth:`PaymentProvider.create_payment`. Cards only;
        Stripe issues no 54-ФЗ receipts, so ``receipt`` is not sent."""
        check_create_args(amount_kopecks, customer_ref, save_card, saved_card_ref, method,
                          self.methods)
        params: dict[str, Any] = {
            "amount": amount_kopecks, "currency": CURRENCY.lower(), "description": description,
            "payment_method_types": ["card"], "expand": _EXPAND,
            "metadata": {**metadata, "payment_id": payment_id},
        }
        if customer_ref:
            params["customer"] = customer_ref
        if save_card:
            params["setup_future_usage"] = "off_session"
        if saved_card_ref:
            params.update(payment_method=saved_card_ref, off_session=True, confirm=True)
        try:
            with _translated():
                intent = self.client.v1.payment_intents.create(
                    params, {"idempotency_key": idempotency_key})
        except ProviderError as exc:
            failed = _declined_intent(exc)
            if failed is None:
                raise
            return failed  # an off-session attempt Stripe declined: the payment exists, failed
        return _intent(intent.to_dict())

    def retrieve(self, provider_ref: str) -> ProviderIntent:
        """The PaymentIntent now, with its charge's refunded total and its card."""
        with _translated():
            intent = self.client.v1.payment_intents.retrieve(provider_ref, {"expand": _EXPAND})
        return _intent(intent.to_dict())

    def refund(self, provider_ref: str, amount_kopecks: int, idempotency_key: str,
               receipt: dict[str, Any] | None = None) -> ProviderRefund:
        """A Refund of ``amount_kopecks`` from the PaymentIntent's charge."""
        check_amount(amount_kopecks)
        with _translated():
            refund = self.client.v1.refunds.create(
                {"payment_intent": provider_ref, "amount": amount_kopecks},
                {"idempotency_key": idempotency_key})
        return ProviderRefund(refund_ref=refund.id, provider_ref=refund.payment_intent or provider_ref,
                              amount_kopecks=refund.amount, currency=refund.currency.upper(),
                              status=_REFUND_STATUSES.get(refund.status, "pending"))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Check ``Stripe-Signature`` with the endpoint secret and read the event."""
        try:
            event = self.client.construct_event(
                body, header(headers, "Stripe-Signature"), self.webhook_secret,
                self.webhook_tolerance)
        except stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc)) from exc
        except ValueError as exc:  # signed, but not a Stripe event
            raise ProviderError(f"malformed Stripe event: {exc}", "malformed_event") from exc
        return _event(event.to_dict())

    def list_cards(self, customer_ref: str) -> list[CardRef]:
        """The customer's saved cards (Stripe PaymentMethods of type card)."""
        with _translated():
            page = self.client.v1.payment_methods.list(
                {"customer": customer_ref, "type": "card", "limit": 100})
            return [_card(method.to_dict()) for method in page.auto_paging_iter()]

    def detach_card(self, card_ref: str) -> None:
        """Detach the PaymentMethod from its customer; Stripe will not charge it again."""
        with _translated():
            self.client.v1.payment_methods.detach(card_ref)


@contextmanager
def _translated() -> Iterator[None]:
    """Stripe's exceptions as ours; the service knows nothing of the SDK."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise ProviderUnavailable(f"Stripe unreachable or busy: {exc}") from exc
    except stripe.APIError as exc:  # 5xx: Stripe's side
        raise ProviderUnavailable(f"Stripe failed: {exc}") from exc
    except stripe.IdempotencyError as exc:
        raise ProviderError(str(exc), "idempotency_error") from exc
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            raise NotFound(exc.user_message or str(exc)) from exc
        raise ProviderError(exc.user_message or str(exc), exc.code or "invalid_request") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise ProviderError(f"Stripe refused our API key: {exc}", "provider_auth_failed") from exc
    except stripe.CardError as exc:
        error = exc.json_body.get("error", {}) if isinstance(exc.json_body, dict) else {}
        raise _CardRefused(exc.user_message or str(exc), exc.code or "card_declined", error) from exc
    except stripe.StripeError as exc:
        raise ProviderError(str(exc)) from exc


class _CardRefused(ProviderError):
    """A 402 answer; ``error`` is Stripe's error body, with the failed PaymentIntent in it."""

    def __init__(self, message: str, code: str, error: dict[str, Any]) -> None:
        super().__init__(message, code)
        self.error = error


def _declined_intent(exc: ProviderError) -> ProviderIntent | None:
    """The failed PaymentIntent inside a 402 answer (an off-session decline), if any."""
    if not isinstance(exc, _CardRefused) or not isinstance(exc.error.get("payment_intent"), dict):
        return None
    return _intent(exc.error["payment_intent"], exc.error.get("payment_method"))


def _status(intent: dict[str, Any]) -> tuple[PaymentStatus, NextAction | None]:
    """Our status and next action for a PaymentIntent's status."""
    raw = intent["status"]
    if raw == "requires_payment_method":
        # Awaiting a card, or the last card failed (then another card may still be tried).
        return ("failed", None) if intent.get("last_payment_error") else ("requires_action", "card_form")
    if raw == "requires_action":
        return "requires_action", "3ds"
    if raw == "succeeded":
        return "succeeded", None
    if raw == "canceled":
        return "canceled", None
    return "pending", None  # requires_confirmation, processing, requires_capture


def _intent(intent: dict[str, Any], method: Any = None) -> ProviderIntent:
    """A ProviderIntent from a PaymentIntent's JSON (``method``: its PaymentMethod if known)."""
    status, next_action = _status(intent)
    error = intent.get("last_payment_error") or {}
    redirect = (intent.get("next_action") or {}).get("redirect_to_url") or {}
    charge = intent.get("latest_charge")
    pm = intent.get("payment_method")
    if isinstance(pm, dict):
        method = pm
    card = _card(method) if isinstance(method, dict) and method.get("card") else None
    customer = _ref(intent.get("customer"))
    return ProviderIntent(
        provider_ref=intent["id"], status=status, raw_status=intent["status"],
        amount_kopecks=intent["amount"], currency=intent["currency"].upper(),
        customer_ref=customer, client_secret=intent.get("client_secret"),
        confirmation_url=redirect.get("url"), next_action=next_action,
        failure_reason=(_FAILURE_REASONS.get(error.get("code"), error.get("code"))
                        if status == "failed" else None),
        failure_message=error.get("message") if status == "failed" else None,
        payment_method_ref=_ref(pm), card=card,
        card_saved=bool(card and customer and _ref(method.get("customer")) == customer),
        refunded_kopecks=charge.get("amount_refunded", 0) if isinstance(charge, dict) else 0,
        metadata=dict(intent.get("metadata") or {}),
    )


def _event(event: dict[str, Any]) -> ProviderEvent:
    raw_type = event["type"]
    obj = event.get("data", {}).get("object", {})
    common = {"event_id": event["id"], "type": _EVENT_TYPES.get(raw_type, IGNORED),
              "raw_type": raw_type,
              "created": datetime.fromtimestamp(event["created"], timezone.utc)}
    if raw_type.startswith("payment_intent.") and obj.get("object") == "payment_intent":
        return event_from_intent(**common, intent=_intent(obj))
    if raw_type == "charge.refunded" and obj.get("object") == "charge":
        # The charge of a succeeded PaymentIntent; Stripe copies the intent's metadata to it.
        return ProviderEvent(**common, provider_ref=_ref(obj.get("payment_intent")),
                             status="succeeded", amount_kopecks=obj["amount"],
                             currency=obj["currency"].upper(),
                             refunded_kopecks=obj.get("amount_refunded", 0),
                             payment_method_ref=_ref(obj.get("payment_method")),
                             metadata=dict(obj.get("metadata") or {}))
    return ProviderEvent(**{**common, "type": IGNORED})


def _card(method: dict[str, Any]) -> CardRef:
    card = method["card"]
    return CardRef(ref=method["id"], brand=card["brand"], last4=card["last4"],
                   exp_month=card["exp_month"], exp_year=card["exp_year"])


def _ref(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or as an expanded object."""
    return value.get("id") if isinstance(value, dict) else value

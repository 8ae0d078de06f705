"""The interface every card-payment provider implements, and what it returns.

Amounts cross this boundary as whole kopecks (``int``), currency RUB; the service turns them
into ``Decimal`` roubles. A provider reports, it does not decide: a payment is paid only
when a :class:`ProviderIntent` or a verified :class:`ProviderEvent` says ``succeeded``.

Statuses of a payment (:data:`PaymentStatus`):

- ``requires_action``: the customer has to do something: enter a card (``next_action``
  ``"card_form"``), pass 3-D Secure (``"3ds"``), go to the provider's page (``"redirect"``)
  or confirm a СБП payment in their bank's app (``"sbp"``: ``sbp_url`` opens the app, or is
  shown as a QR code); ``confirmation_url`` and/or ``client_secret`` say where.
- ``pending``: the provider is processing; ask again later (:meth:`PaymentProvider.retrieve`).
- ``failed``: the last attempt failed (``failure_reason``). Not final: the customer may try
  another card on the same payment, which may then succeed.
- ``succeeded`` and ``canceled`` are final (:data:`FINAL_STATUSES`): nothing moves a payment
  out of them, so a late or replayed event reporting an earlier status must change nothing.
  Refunds are reported beside the status (``refunded_kopecks``), not as a status.

Event types (:class:`ProviderEvent`.type): ``payment.succeeded``, ``payment.failed``,
``payment.requires_action``, ``payment.pending``, ``payment.canceled``, ``payment.refunded``
(``refunded_kopecks`` is the running total), and ``ignored`` for anything else the provider
sends (answer it 200 so the provider stops retrying). ``event_id`` is the provider's and stays
the same on every redelivery: the service deduplicates by it.

54-ФЗ receipts cross the boundary in one neutral shape (:mod:`services.payments.domain.receipts`
builds it): ``{"customer": {"email"?, "phone"?}, "tax_system_code": int, "items": [{"description",
"amount": "640.00", "quantity": "1", "vat_code", "payment_subject", "payment_mode", ...}]}``.
A provider sends it with the payment or refund and reports the receipt's state
(``receipt_status``: ``pending``, ``succeeded``, ``canceled``; None when it keeps no receipts).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Mapping

PaymentStatus = Literal["pending", "requires_action", "succeeded", "failed", "canceled"]
NextAction = Literal["card_form", "3ds", "redirect", "sbp"]
Method = Literal["card", "sbp"]
ReceiptStatus = Literal["pending", "succeeded", "canceled"]
METHODS: tuple[str, ...] = ("card", "sbp")
RefundStatus = Literal["pending", "succeeded", "failed", "canceled"]

FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "canceled"})

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
PAYMENT_REQUIRES_ACTION = "payment.requires_action"
PAYMENT_PENDING = "payment.pending"
PAYMENT_CANCELED = "payment.canceled"
PAYMENT_REFUNDED = "payment.refunded"
IGNORED = "ignored"

CURRENCY = "RUB"


class ProviderError(Exception):
    """The provider refused the request. ``code`` is machine-readable and stable per reason
    (e.g. ``idempotency_error``, ``amount_too_large``, ``payment_intent_unexpected_state``)."""

    default_code = "provider_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code or self.default_code)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed on its side; retrying with the same
    idempotency key is safe."""

    default_code = "provider_unavailable"


class NotFound(ProviderError):
    """No such payment, card or customer at the provider."""

    default_code = "resource_missing"


class SignatureInvalid(ProviderError):
    """A webhook whose signature is missing, wrong, or older than the tolerance: not from the
    provider (or a replay of an old capture), so it must be ignored."""

    default_code = "signature_invalid"


class InvalidCard(ProviderError):
    """Card details refused before any payment attempt (the sandbox's card form): ``code`` is
    ``invalid_number``, ``invalid_expiry``, ``expired_card``, ``invalid_cvc`` or
    ``unknown_test_card``; ``field`` names the form field."""

    default_code = "invalid_card"

    def __init__(self, message: str, code: str | None = None, field: str = "card_number") -> None:
        super().__init__(message, code)
        self.field = field


@dataclass(frozen=True)
class CardRef:
    """A card the provider keeps for a customer (or used for a payment)."""

    ref: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ProviderIntent:
    """The provider's view of one payment, as it is now."""

    provider_ref: str
    status: PaymentStatus
    amount_kopecks: int
    currency: str
    raw_status: str  # the provider's own word, for logs and support
    customer_ref: str | None = None
    client_secret: str | None = None  # for the provider's own front-end widget
    confirmation_url: str | None = None  # where to send the customer, when there is a page
    next_action: NextAction | None = None
    failure_reason: str | None = None  # e.g. card_declined, authentication_failed/_required
    failure_message: str | None = None
    payment_method_ref: str | None = None  # the card used (a saved card's ref if saved)
    card: CardRef | None = None
    card_saved: bool = False  # the card is kept for the customer: usable as saved_card_ref
    refunded_kopecks: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    method: Method = "card"
    sbp_url: str | None = None  # a СБП payment waiting: the link that opens the bank's app
    receipt_status: ReceiptStatus | None = None


@dataclass(frozen=True)
class ProviderRefund:
    """One refund of (part of) a payment."""

    refund_ref: str
    provider_ref: str
    amount_kopecks: int
    currency: str
    status: RefundStatus
    receipt_status: ReceiptStatus | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A verified notification from the provider (a webhook). The status and amounts are a
    snapshot taken when the event was made; ``created`` orders events of one payment."""

    event_id: str
    type: str
    raw_type: str
    created: datetime
    provider_ref: str | None = None
    status: PaymentStatus | None = None
    amount_kopecks: int | None = None
    currency: str | None = None
    refunded_kopecks: int = 0
    failure_reason: str | None = None
    payment_method_ref: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    receipt_status: ReceiptStatus | None = None


class PaymentProvider(abc.ABC):
    """A card-payment provider. Every method may raise :class:`ProviderUnavailable`
    (retry later) or :class:`ProviderError` (refused, with a ``code``)."""

    name: str
    methods: tuple[str, ...] = ("card",)  # the payment methods it takes
    receipts = False  # it registers 54-ФЗ receipts (the payment keeps one)
    receipt_contact_required = False  # it refuses a receipt without the buyer's contact

    @abc.abstractmethod
    def ensure_customer(self, user_id: str, email: str | None) -> str:
        """The provider's customer for our user (made on first call); returns its ref.
        Keep the ref: cards are saved under it."""

    @abc.abstractmethod
    def create_payment(self, *, payment_id: str, amount_kopecks: int, description: str,
                       customer_ref: str | None, save_card: bool, saved_card_ref: str | None,
                       idempotency_key: str, metadata: dict[str, str], method: Method = "card",
                       receipt: dict[str, Any] | None = None) -> ProviderIntent:
        """Start a payment by ``method`` (one of :attr:`methods`) with its 54-ФЗ
        ``receipt``. Without ``saved_card_ref`` it awaits the customer's card
        (``requires_action``); with it, the saved card is charged at once without the
        customer (an automatic payment) and the result is ``succeeded`` or ``failed``.
        ``save_card`` keeps the card for later (needs ``customer_ref``). The same
        ``idempotency_key`` with the same arguments returns the same payment; with other
        arguments it raises ProviderError ``idempotency_error``. ``payment_id`` is sent
        in the metadata, so events can be matched to our payment."""

    @abc.abstractmethod
    def retrieve(self, provider_ref: str) -> ProviderIntent:
        """The payment as the provider sees it now (reconciliation of a stuck payment)."""

    @abc.abstractmethod
    def refund(self, provider_ref: str, amount_kopecks: int, idempotency_key: str,
               receipt: dict[str, Any] | None = None) -> ProviderRefund:
        """Return part or all of a succeeded payment to the card, with its 54-ФЗ receipt."""

    def retrieve_refund(self, refund_ref: str) -> ProviderRefund | None:
        """The refund as the provider sees it now (its receipt's state); None when the
        provider keeps no receipts."""
        return None

    @abc.abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify a webhook's signature and read it. Raises :class:`SignatureInvalid` when
        the signature is missing or wrong or its timestamp too old."""

    @abc.abstractmethod
    def list_cards(self, customer_ref: str) -> list[CardRef]:
        """The cards saved for a customer."""

    @abc.abstractmethod
    def detach_card(self, card_ref: str) -> None:
        """Forget a saved card: it can no longer be charged."""


def check_amount(amount_kopecks: int) -> None:
    """Refuse anything but a positive whole number of kopecks (a Decimal means a caller forgot
    to convert roubles)."""
    if isinstance(amount_kopecks, bool) or not isinstance(amount_kopecks, int):
        raise TypeError(f"amount_kopecks must be an int of kopecks, not {amount_kopecks!r}")
    if amount_kopecks <= 0:
        raise ValueError(f"amount_kopecks must be positive, not {amount_kopecks}")


def check_create_args(amount_kopecks: int, customer_ref: str | None, save_card: bool,
                      saved_card_ref: str | None, method: str = "card",
                      methods: tuple[str, ...] = ("card",)) -> None:
    """Programming errors in a create_payment call, refused before the provider is asked."""
    check_amount(amount_kopecks)
    if (save_card or saved_card_ref) and not customer_ref:
        raise ValueError("a saved card needs customer_ref")
    if method not in methods:
        raise ProviderError(f"payment method {method!r} is not taken here", "method_unsupported")
    if method != "card" and (save_card or saved_card_ref):
        raise ValueError("only a card is saved or charged automatically")


def event_from_intent(*, event_id: str, type: str, raw_type: str, created: datetime,
                      intent: ProviderIntent) -> ProviderEvent:
    """An event carrying a snapshot of the payment."""
    return ProviderEvent(event_id=event_id, type=type, raw_type=raw_type, created=created,
                         provider_ref=intent.provider_ref, status=intent.status,
                         amount_kopecks=intent.amount_kopecks, currency=intent.currency,
                         refunded_kopecks=intent.refunded_kopecks,
                         failure_reason=intent.failure_reason,
                         payment_method_ref=intent.payment_method_ref, metadata=intent.metadata,
                         receipt_status=intent.receipt_status)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (a plain dict may come over RPC)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None

"""Card-payment providers: one contract for both, Stripe's SDK against the local fake.

Each contract test runs twice: on the sandbox (its card form and test cards) and on Stripe
through the official SDK talking to ``tests/fakes/stripe_server.py``. A harness plays the
customer (card form / Stripe.js) and the provider's side (3-D Secure page, webhooks).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import stripe

from services.payments.providers.base import (
    IGNORED, CardRef, InvalidCard, NotFound, PaymentProvider, ProviderError, ProviderIntent,
    ProviderUnavailable, SignatureInvalid)
from services.payments.providers.factory import make_provider
from services.payments.providers.sandbox import MemoryStore, SandboxProvider
from services.payments.providers.stripe_provider import StripeProvider
from tests.fakes.stripe_server import FakeStripe, stripe_signature

pytest_plugins = ["tests.fakes.fixtures"]

SANDBOX_SECRET = "sandbox-test-secret"
SANDBOX_CARDS = {"ok": "4242 4242 4242 4242", "declined": "4000000000000002",
                 "3ds": "4000-0027-6000-3184"}
STRIPE_METHODS = {"ok": "pm_card_visa", "declined": "pm_card_chargeDeclined",
                  "3ds": "pm_card_threeDSecure2Required"}
EVENT_TYPES = {"succeeded": "payment_intent.succeeded", "failed": "payment_intent.payment_failed",
               "refunded": "charge.refunded"}


class Clock:
    """The sandbox's clock: a fixed instant tests move."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class SandboxHarness:
    signature_header = "Sandbox-Signature"
    secret = SANDBOX_SECRET

    def __init__(self, clock: Clock, store: MemoryStore | None = None) -> None:
        self.clock = clock
        self.store = store or MemoryStore()
        self.webhooks: list[tuple[bytes, dict[str, str]]] = []
        self.provider = SandboxProvider(self.store, SANDBOX_SECRET, on_webhook=self._deliver,
                                        now=clock, form_url="https://lk.example/pay/{ref}")

    def _deliver(self, body: bytes, headers: dict[str, str]) -> None:
        self.webhooks.append((body, headers))

    def pay(self, intent: ProviderIntent, card: str, save_card: bool = False) -> ProviderIntent:
        return self.provider.pay_with_card(intent.provider_ref, SANDBOX_CARDS[card], 12, 2030,
                                           "123", save_card=save_card)

    def finish_3ds(self, intent: ProviderIntent, ok: bool) -> ProviderIntent:
        return self.provider.confirm_3ds(intent.provider_ref, "111111" if ok else "123456")

    def webhook(self, intent: ProviderIntent, kind: str) -> tuple[bytes, dict[str, str]]:
        """The last event the sandbox delivered (about ``intent``; ``kind`` is Stripe's concern)."""
        return self.webhooks[-1]

    def now_ts(self) -> int:
        return int(self.clock().timestamp())


class StripeHarness:
    signature_header = "Stripe-Signature"

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        self.secret = fake.webhook_secret
        self.provider = StripeProvider(fake.api_key, fake.webhook_secret, api_base=fake.url,
                                       max_network_retries=0, timeout=5)

    def pay(self, intent: ProviderIntent, card: str, save_card: bool = False) -> ProviderIntent:
        """What Stripe.js does with the client secret when the customer submits the card."""
        params: dict[str, Any] = {"payment_method": STRIPE_METHODS[card]}
        if save_card:
            params["setup_future_usage"] = "off_session"
        try:
            self.provider.client.v1.payment_intents.confirm(intent.provider_ref, params)
        except stripe.CardError:
            pass  # the decline is on the PaymentIntent too
        return self.provider.retrieve(intent.provider_ref)

    def finish_3ds(self, intent: ProviderIntent, ok: bool) -> ProviderIntent:
        self.fake.complete_3ds(intent.provider_ref, succeed=ok)
        return self.provider.retrieve(intent.provider_ref)

    def webhook(self, intent: ProviderIntent, kind: str) -> tuple[bytes, dict[str, str]]:
        return self.fake.webhook(EVENT_TYPES[kind], intent.provider_ref)

    def now_ts(self) -> int:
        return int(time.time())


Harness = SandboxHarness | StripeHarness


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture(params=["sandbox", "stripe"])
def harness(request: pytest.FixtureRequest, clock: Clock) -> Harness:
    if request.param == "sandbox":
        return SandboxHarness(clock)
    return StripeHarness(request.getfixturevalue("fake_stripe"))


def create(provider: PaymentProvider, **overrides: Any) -> ProviderIntent:
    args: dict[str, Any] = {
        "payment_id": "pay-1", "amount_kopecks": 150_000, "description": "Оплата по л/с 123456789",
        "customer_ref": None, "save_card": False, "saved_card_ref": None,
        "idempotency_key": "key-1", "metadata": {"account": "123456789"}, **overrides}
    return provider.create_payment(**args)


def sign(body: bytes, secret: str, t: int) -> str:
    """Either provider's signature scheme, computed here independently of both."""
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def paid(harness: Harness, **overrides: Any) -> ProviderIntent:
    intent = harness.pay(create(harness.provider, **overrides), "ok")
    assert intent.status == "succeeded"
    return intent


# -- creating a payment --------------------------------------------------------------------

def test_a_new_payment_awaits_the_customers_card(harness):
    intent = create(harness.provider)

    assert (intent.status, intent.next_action) == ("requires_action", "card_form")
    assert (intent.amount_kopecks, intent.currency) == (150_000, "RUB")
    assert intent.metadata == {"account": "123456789", "payment_id": "pay-1"}
    assert intent.client_secret and intent.failure_reason is None
    assert harness.provider.retrieve(intent.provider_ref).status == "requires_action"


def test_the_same_idempotency_key_makes_one_payment(harness):
    first = create(harness.provider)
    again = create(harness.provider)
    other = create(harness.provider, idempotency_key="key-2")

    assert again.provider_ref == first.provider_ref
    assert other.provider_ref != first.provider_ref


def test_the_same_idempotency_key_with_other_arguments_is_refused(harness):
    create(harness.provider)

    with pytest.raises(ProviderError) as refused:
        create(harness.provider, amount_kopecks=150_001)

    assert refused.value.code == "idempotency_error"


def test_money_must_be_whole_kopecks_and_a_saved_card_needs_a_customer(harness):
    with pytest.raises(TypeError):
        create(harness.provider, amount_kopecks=Decimal("1500.00"))
    with pytest.raises(ValueError):
        create(harness.provider, amount_kopecks=0)
    with pytest.raises(ValueError):
        create(harness.provider, save_card=True)


# -- paying: success, decline, 3-D Secure ----------------------------------------------------

def test_a_good_card_pays_and_reconciliation_sees_it(harness):
    intent = harness.pay(create(harness.provider), "ok")

    assert intent.status == "succeeded"
    assert intent.card is not None and intent.card.brand == "visa"
    assert intent.payment_method_ref == intent.card.ref
    assert intent.card_saved is False
    # A lost webhook: asking the provider gives the same answer.
    assert harness.provider.retrieve(intent.provider_ref).status == "succeeded"


def test_a_declined_card_fails_and_another_card_may_still_pay(harness):
    intent = harness.pay(create(harness.provider), "declined")

    assert (intent.status, intent.failure_reason) == ("failed", "card_declined")
    assert harness.provider.retrieve(intent.provider_ref).status == "failed"
    assert harness.pay(intent, "ok").status == "succeeded"


def test_3ds_card_asks_for_authentication_then_pays(harness):
    intent = harness.pay(create(harness.provider), "3ds")

    assert (intent.status, intent.next_action) == ("requires_action", "3ds")
    assert harness.provider.retrieve(intent.provider_ref).status == "requires_action"
    assert harness.finish_3ds(intent, ok=True).status == "succeeded"


def test_failed_3ds_fails_the_payment(harness):
    intent = harness.pay(create(harness.provider), "3ds")

    failed = harness.finish_3ds(intent, ok=False)

    assert (failed.status, failed.failure_reason) == ("failed", "authentication_failed")


def test_retrieving_an_unknown_payment_is_not_found(harness):
    with pytest.raises(NotFound):
        harness.provider.retrieve("pi_sbx_0000" if isinstance(harness, SandboxHarness) else "pi_nope")


# -- webhooks --------------------------------------------------------------------------------

def test_webhook_of_a_paid_payment_reads_the_same_on_every_delivery(harness):
    intent = paid(harness)
    body, headers = harness.webhook(intent, "succeeded")

    event = harness.provider.parse_webhook(body, headers)
    replay = harness.provider.parse_webhook(body, headers)

    assert (event.type, event.provider_ref, event.status) == (
        "payment.succeeded", intent.provider_ref, "succeeded")
    assert (event.amount_kopecks, event.currency) == (150_000, "RUB")
    assert event.metadata["payment_id"] == "pay-1"
    assert replay.event_id == event.event_id


def test_webhook_of_a_declined_payment(harness):
    intent = harness.pay(create(harness.provider), "declined")

    event = harness.provider.parse_webhook(*harness.webhook(intent, "failed"))

    assert (event.type, event.status, event.failure_reason) == (
        "payment.failed", "failed", "card_declined")


def test_webhook_header_name_is_case_insensitive(harness):
    body, headers = harness.webhook(paid(harness), "succeeded")

    event = harness.provider.parse_webhook(body, {k.lower(): v for k, v in headers.items()})

    assert event.type == "payment.succeeded"


@pytest.mark.parametrize("forgery", ["tampered body", "no signature", "wrong secret",
                                     "too old", "garbage header"])
def test_webhook_not_signed_by_the_provider_now_is_refused(harness, forgery):
    body, headers = harness.webhook(paid(harness), "succeeded")
    now = harness.now_ts()
    if forgery == "tampered body":
        body = body.replace(b'"succeeded"', b'"failed"', 1)
    elif forgery == "no signature":
        headers = {"Content-Type": "application/json"}
    elif forgery == "wrong secret":
        headers = {harness.signature_header: sign(body, "not-the-secret", now)}
    elif forgery == "too old":  # correctly signed, but 10 minutes ago: a replayed capture
        headers = {harness.signature_header: sign(body, harness.secret, now - 600)}
    else:
        headers = {harness.signature_header: "v1=abc,t=yesterday"}

    with pytest.raises(SignatureInvalid):
        harness.provider.parse_webhook(body, headers)


def test_a_fresh_signature_made_here_is_accepted(harness):
    """The scheme the two tests above forge is really the provider's."""
    body, _ = harness.webhook(paid(harness), "succeeded")

    event = harness.provider.parse_webhook(
        body, {harness.signature_header: sign(body, harness.secret, harness.now_ts() - 5)})

    assert event.type == "payment.succeeded"


# -- refunds ---------------------------------------------------------------------------------

def test_partial_refund_is_recorded_once_per_key(harness):
    intent = paid(harness)

    refund = harness.provider.refund(intent.provider_ref, 30_000, "refund-1")
    again = harness.provider.refund(intent.provider_ref, 30_000, "refund-1")

    assert (refund.status, refund.amount_kopecks, refund.currency) == ("succeeded", 30_000, "RUB")
    assert again.refund_ref == refund.refund_ref
    now = harness.provider.retrieve(intent.provider_ref)
    assert (now.status, now.refunded_kopecks) == ("succeeded", 30_000)
    event = harness.provider.parse_webhook(*harness.webhook(intent, "refunded"))
    assert (event.type, event.provider_ref, event.refunded_kopecks) == (
        "payment.refunded", intent.provider_ref, 30_000)
    assert event.metadata["payment_id"] == "pay-1"


def test_refund_beyond_what_is_left_is_refused(harness):
    intent = paid(harness)
    harness.provider.refund(intent.provider_ref, 100_000, "refund-1")

    with pytest.raises(ProviderError) as refused:
        harness.provider.refund(intent.provider_ref, 50_001, "refund-2")

    assert refused.value.code == "amount_too_large"
    assert harness.provider.refund(intent.provider_ref, 50_000, "refund-3").amount_kopecks == 50_000
    assert harness.provider.retrieve(intent.provider_ref).refunded_kopecks == 150_000


def test_an_unpaid_payment_cannot_be_refunded(harness):
    intent = create(harness.provider)

    with pytest.raises(ProviderError) as refused:
        harness.provider.refund(intent.provider_ref, 100, "refund-1")

    assert refused.value.code == "payment_intent_unexpected_state"


# -- customers, saved cards, automatic payments ----------------------------------------------

def test_ensure_customer_gives_one_customer_per_user(harness):
    first = harness.provider.ensure_customer("user-1", "ivanov@example.ru")

    assert harness.provider.ensure_customer("user-1", "ivanov@example.ru") == first
    assert harness.provider.ensure_customer("user-2", None) != first


def saved_card(harness: Harness, card: str = "ok") -> tuple[str, ProviderIntent]:
    """A customer who paid once with ``card`` and ticked "save the card"."""
    customer = harness.provider.ensure_customer("user-1", "ivanov@example.ru")
    intent = harness.pay(create(harness.provider, customer_ref=customer, save_card=True), card)
    if card == "3ds":
        intent = harness.finish_3ds(intent, ok=True)
    assert intent.status == "succeeded" and intent.card_saved
    return customer, intent


def test_a_card_paid_with_save_card_is_kept_for_the_customer(harness):
    customer, intent = saved_card(harness)

    cards = harness.provider.list_cards(customer)

    assert cards == [intent.card]
    assert isinstance(cards[0], CardRef) and cards[0].last4 == "4242"
    assert cards[0].exp_year > 2026


def test_automatic_payment_charges_the_saved_card_without_the_customer(harness):
    customer, first = saved_card(harness)

    monthly = create(harness.provider, payment_id="pay-2", idempotency_key="auto-2026-04",
                     customer_ref=customer, saved_card_ref=first.payment_method_ref)

    assert (monthly.status, monthly.next_action) == ("succeeded", None)
    assert monthly.payment_method_ref == first.payment_method_ref and monthly.card_saved
    assert monthly.provider_ref != first.provider_ref
    # A retried timer run with the same key charges nothing more.
    assert create(harness.provider, payment_id="pay-2", idempotency_key="auto-2026-04",
                  customer_ref=customer,
                  saved_card_ref=first.payment_method_ref).provider_ref == monthly.provider_ref


def test_automatic_payment_with_a_card_needing_3ds_fails_for_the_customer_to_act(harness):
    customer, first = saved_card(harness, "3ds")

    monthly = create(harness.provider, payment_id="pay-2", idempotency_key="auto-2026-04",
                     customer_ref=customer, saved_card_ref=first.payment_method_ref)

    assert (monthly.status, monthly.failure_reason) == ("failed", "authentication_required")
    assert harness.provider.retrieve(monthly.provider_ref).status == "failed"


def test_a_detached_card_is_gone_and_cannot_be_charged(harness):
    customer, first = saved_card(harness)

    harness.provider.detach_card(first.payment_method_ref)

    assert harness.provider.list_cards(customer) == []
    with pytest.raises(ProviderError) as refused:
        create(harness.provider, payment_id="pay-2", idempotency_key="auto-2026-04",
               customer_ref=customer, saved_card_ref=first.payment_method_ref)
    assert refused.value.code == "payment_method_unexpected_state"


# -- the sandbox's own rules -----------------------------------------------------------------

@pytest.fixture
def sandbox(clock: Clock) -> SandboxHarness:
    return SandboxHarness(clock)


@pytest.mark.parametrize("number, exp, cvc, code, field", [
    ("4242 4242 4242 4241", (12, 2030), "123", "invalid_number", "card_number"),  # Luhn
    ("4242", (12, 2030), "123", "invalid_number", "card_number"),
    ("4242 4242 4242 4242", (2, 2026), "123", "expired_card", "exp_year"),  # clock: March 2026
    ("4242 4242 4242 4242", (13, 2030), "123", "invalid_expiry", "exp_month"),
    ("4242 4242 4242 4242", (12, 2030), "12", "invalid_cvc", "cvc"),
    ("5555 5555 5555 4444", (12, 2030), "123", "unknown_test_card", "card_number"),
])
def test_sandbox_refuses_card_details_a_form_would_refuse(sandbox, number, exp, cvc, code, field):
    intent = create(sandbox.provider)

    with pytest.raises(InvalidCard) as refused:
        sandbox.provider.pay_with_card(intent.provider_ref, number, *exp, cvc)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert sandbox.provider.retrieve(intent.provider_ref).status == "requires_action"
    assert sandbox.webhooks == []


def test_sandbox_card_valid_through_its_expiry_month_and_two_digit_years(sandbox):
    intent = create(sandbox.provider)

    assert sandbox.provider.pay_with_card(intent.provider_ref, "4242424242424242", "03", "26",
                                          "123").status == "succeeded"


def test_sandbox_sends_the_customer_to_its_card_form_then_to_3ds(sandbox):
    intent = create(sandbox.provider)
    assert intent.confirmation_url == f"https://lk.example/pay/{intent.provider_ref}"

    step = sandbox.pay(intent, "3ds")

    assert step.confirmation_url == f"https://lk.example/pay/{intent.provider_ref}/3ds"
    assert sandbox.finish_3ds(step, ok=True).confirmation_url is None


def test_sandbox_announces_every_change_as_a_signed_webhook(sandbox):
    intent = sandbox.pay(create(sandbox.provider), "3ds")
    sandbox.finish_3ds(intent, ok=True)
    sandbox.provider.refund(intent.provider_ref, 100, "refund-1")

    events = [sandbox.provider.parse_webhook(body, headers) for body, headers in sandbox.webhooks]

    assert [(e.type, e.status) for e in events] == [
        ("payment.requires_action", "requires_action"), ("payment.succeeded", "succeeded"),
        ("payment.refunded", "succeeded")]
    assert len({e.event_id for e in events}) == 3
    assert events[0].created == sandbox.clock()
    assert b"client_secret" not in sandbox.webhooks[0][0]


def test_sandbox_webhook_expires_with_its_clock(sandbox):
    sandbox.pay(create(sandbox.provider), "ok")
    body, headers = sandbox.webhooks[-1]

    sandbox.clock.advance(seconds=301)

    with pytest.raises(SignatureInvalid):
        sandbox.provider.parse_webhook(body, headers)


def test_sandbox_state_survives_a_restart_and_is_shared_by_workers(clock):
    store = MemoryStore()
    before = SandboxHarness(clock, store)
    customer = before.provider.ensure_customer("user-1", None)
    intent = before.pay(create(before.provider, customer_ref=customer, save_card=True), "3ds")

    after = SandboxHarness(clock, store)  # another process on the same database

    assert after.finish_3ds(intent, ok=True).status == "succeeded"
    assert [c.last4 for c in before.provider.list_cards(customer)] == ["3184"]


def test_sandbox_paid_payment_takes_no_more_cards_and_no_3ds(sandbox):
    intent = sandbox.pay(create(sandbox.provider), "ok")

    with pytest.raises(ProviderError) as card:
        sandbox.pay(intent, "ok")
    with pytest.raises(ProviderError) as code:
        sandbox.finish_3ds(intent, ok=True)

    assert card.value.code == code.value.code == "payment_intent_unexpected_state"


def test_sandbox_card_from_the_form_can_be_saved_only_with_a_customer(sandbox):
    intent = create(sandbox.provider)

    with pytest.raises(ProviderError) as refused:
        sandbox.pay(intent, "ok", save_card=True)

    assert refused.value.code == "customer_required"


def test_sandbox_ticking_save_on_the_form_saves_the_card(sandbox):
    customer = sandbox.provider.ensure_customer("user-1", None)
    intent = sandbox.pay(create(sandbox.provider, customer_ref=customer), "ok", save_card=True)

    assert intent.card_saved
    assert sandbox.provider.list_cards(customer) == [intent.card]


def test_memory_store_keeps_copies_not_the_callers_dict():
    store = MemoryStore()
    record = {"cards": []}
    store.put("cus_sbx_1", record)

    record["cards"].append("pm")
    got = store.get("cus_sbx_1")
    got["cards"].append("other")

    assert store.get("cus_sbx_1") == {"cards": []}
    assert store.get("nothing") is None


# -- Stripe's own behaviour ------------------------------------------------------------------

@pytest.fixture
def stripe_h(fake_stripe: FakeStripe) -> StripeHarness:
    return StripeHarness(fake_stripe)


def test_stripe_sends_our_idempotency_key_and_the_payment_in_rub(stripe_h):
    create(stripe_h.provider)
    create(stripe_h.provider)

    creates = [r for r in stripe_h.fake.requests if r["path"] == "/v1/payment_intents"]
    assert [r["idempotency_key"] for r in creates] == ["key-1", "key-1"]
    assert len(stripe_h.fake.payment_intents) == 1
    sent = creates[0]["params"]
    assert (sent["amount"], sent["currency"], sent["payment_method_types"]) == ("150000", "rub", ["card"])
    assert sent["metadata"] == {"account": "123456789", "payment_id": "pay-1"}


def test_stripe_save_card_and_automatic_payment_parameters(stripe_h):
    customer, first = saved_card(stripe_h)
    create(stripe_h.provider, idempotency_key="auto", customer_ref=customer,
           saved_card_ref=first.payment_method_ref)

    creates = [r["params"] for r in stripe_h.fake.requests if r["path"] == "/v1/payment_intents"]
    assert creates[0]["setup_future_usage"] == "off_session"
    assert {k: creates[1][k] for k in ("payment_method", "off_session", "confirm", "customer")} == {
        "payment_method": first.payment_method_ref, "off_session": "true", "confirm": "true",
        "customer": customer}


def test_stripe_with_a_wrong_api_key_is_refused(fake_stripe):
    provider = StripeProvider("sk_test_wrong", "whsec_x", api_base=fake_stripe.url,
                              max_network_retries=0)

    with pytest.raises(ProviderError) as refused:
        provider.ensure_customer("user-1", None)

    assert refused.value.code == "provider_auth_failed"
    assert not isinstance(refused.value, ProviderUnavailable)


def test_stripe_unreachable_is_unavailable():
    with FakeStripe() as gone:
        url = gone.url
    provider = StripeProvider("sk_test_fake", "whsec_x", api_base=url, max_network_retries=0,
                              timeout=2)

    with pytest.raises(ProviderUnavailable):
        provider.retrieve("pi_1")


def test_stripe_event_types_we_do_not_handle_are_ignored(stripe_h):
    body = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created",
                       "created": int(time.time()),
                       "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()

    event = stripe_h.provider.parse_webhook(
        body, {"Stripe-Signature": stripe_signature(body, stripe_h.secret)})

    assert (event.event_id, event.type, event.raw_type) == ("evt_1", IGNORED, "customer.created")
    assert event.provider_ref is None


def test_stripe_3ds_redirect_gives_the_bank_page(stripe_h):
    intent = create(stripe_h.provider)
    stripe_h.provider.client.v1.payment_intents.confirm(
        intent.provider_ref, {"payment_method": "pm_card_threeDSecure2Required",
                              "return_url": "https://lk.example/back"})

    step = stripe_h.provider.retrieve(intent.provider_ref)

    assert (step.next_action, step.confirmation_url) == (
        "3ds", f"{stripe_h.fake.url}/3ds/{intent.provider_ref}")


# -- the factory -----------------------------------------------------------------------------

def test_factory_defaults_to_the_sandbox_with_the_public_url():
    provider = make_provider({"PUBLIC_URL": "https://lk.nesk.ru/"})

    assert isinstance(provider, SandboxProvider)
    intent = create(provider)
    assert intent.confirmation_url == (
        f"https://lk.nesk.ru/pay/card/{intent.provider_ref}")


def test_factory_sandbox_form_url_setting_wins_over_the_public_url():
    provider = make_provider({"PUBLIC_URL": "https://lk.nesk.ru",
                              "SANDBOX_FORM_URL": "https://pay.example/form/{ref}"})

    intent = create(provider)

    assert intent.confirmation_url == f"https://pay.example/form/{intent.provider_ref}"


def test_factory_makes_stripe_from_settings(fake_stripe):
    provider = make_provider({"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": fake_stripe.api_key,
                              "STRIPE_WEBHOOK_SECRET": fake_stripe.webhook_secret,
                              "STRIPE_API_BASE": fake_stripe.url})

    assert isinstance(provider, StripeProvider)
    assert provider.ensure_customer("user-1", None) in fake_stripe.customers


@pytest.mark.parametrize("config", [
    {"PAYMENT_PROVIDER": "paypal"},
    {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
    {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "sk_x", "STRIPE_WEBHOOK_SECRET": ""},
    {"PAYMENT_PROVIDER": "sandbox", "NESK_ENV": "production"},
])
def test_factory_refuses_bad_settings(config):
    with pytest.raises(ValueError):
        make_provider(config)

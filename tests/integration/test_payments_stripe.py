"""Card payments through Stripe's official SDK against a local fake of its HTTP API, with
Stripe's signed webhooks posted to the gateway (twice, forged, late)."""
from __future__ import annotations

import uuid

import stripe

from tests.integration.helpers import bearer, error, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account

PAYMENT_PROVIDER = "stripe"  # read by the system fixture
API = "/api/v1"


def started_payment(sys, fake_stripe, amount="640.00"):
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-10", "amount": amount})
    response = sys.client.post(f"{API}/payments", headers=bearer(tokens), json={
        "idempotency_key": str(uuid.uuid4()),
        "items": [{"account_id": account_id, "kind": "electricity", "amount": amount}]})
    assert response.status_code == 201, response.json
    return tokens, account_id, response.json


def confirm_in_browser(fake_stripe, payment_intent: str, method: str) -> None:
    """What Stripe.js does in the customer's browser with the client secret."""
    client = stripe.StripeClient(fake_stripe.api_key, base_addresses={"api": fake_stripe.url})
    client.v1.payment_intents.confirm(payment_intent, {"payment_method": method})


def intent_of(sys, tokens, payment_id) -> str:
    secret = sys.client.get(f"{API}/payments/{payment_id}",
                            headers=bearer(tokens)).json["action"]["client_secret"]
    return secret.split("_secret_")[0]


def test_a_stripe_payment_is_final_only_when_its_signed_webhook_says_so(sys, fake_stripe):
    tokens, account_id, payment = started_payment(sys, fake_stripe)
    assert payment["provider"] == "stripe" and payment["status"] == "requires_action"
    assert payment["action"]["client_secret"]
    pi = intent_of(sys, tokens, payment["id"])
    confirm_in_browser(fake_stripe, pi, "pm_card_visa")

    body, headers = fake_stripe.webhook("payment_intent.succeeded", pi)
    forged = sys.client.post(f"{API}/payments/webhooks/stripe", data=body.replace(b"640", b"1"),
                             headers=headers)
    assert forged.status_code == 401 and "signature" in error(forged)["fields"]
    first = sys.client.post(f"{API}/payments/webhooks/stripe", data=body, headers=headers)
    assert first.status_code == 200 and first.json["duplicate"] is False
    again = sys.client.post(f"{API}/payments/webhooks/stripe", data=body, headers=headers)
    assert again.status_code == 200 and again.json["duplicate"] is True
    seen = sys.client.get(f"{API}/payments/{payment['id']}", headers=bearer(tokens)).json
    assert seen["status"] == "succeeded"
    statement = sys.client.get(f"{API}/accounts/{account_id}/debt", headers=bearer(tokens)).json
    assert statement["debt"] == "0.00"

    # An older event delivered late (out of order) does not undo the payment.
    late, late_headers = fake_stripe.webhook("payment_intent.processing", pi)
    sys.client.post(f"{API}/payments/webhooks/stripe", data=late, headers=late_headers)
    assert sys.client.get(f"{API}/payments/{payment['id']}",
                          headers=bearer(tokens)).json["status"] == "succeeded"


def test_a_declined_stripe_card_and_a_stuck_payment_reconciled(sys, fake_stripe):
    tokens, account_id, payment = started_payment(sys, fake_stripe, "120.00")
    pi = intent_of(sys, tokens, payment["id"])
    try:
        confirm_in_browser(fake_stripe, pi, "pm_card_chargeDeclined")
    except stripe.CardError:
        pass  # Stripe.js shows the decline to the customer
    body, headers = fake_stripe.webhook("payment_intent.payment_failed", pi)
    assert sys.client.post(f"{API}/payments/webhooks/stripe", data=body,
                           headers=headers).status_code == 200
    failed = sys.client.get(f"{API}/payments/{payment['id']}", headers=bearer(tokens)).json
    assert failed["status"] == "failed" and failed["failure_reason"] == "card_declined"

    # The customer tries another card; the webhook is lost; the reconciliation finds it paid.
    confirm_in_browser(fake_stripe, pi, "pm_card_visa")
    sys.clock.advance(minutes=sys.config["PAYMENT_RECONCILE_MINUTES"] + 1)
    sys.tick("payments", "reconcile")
    sys.clock.advance(minutes=-(sys.config["PAYMENT_RECONCILE_MINUTES"] + 1))
    paid = sys.client.get(f"{API}/payments/{payment['id']}", headers=bearer(tokens)).json
    assert paid["status"] == "succeeded"

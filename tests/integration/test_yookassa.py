"""Payments through ЮKassa's official SDK against a local fake of its HTTP API: a card (Мир)
and СБП, 54-ФЗ receipts of payments and refunds, unsigned notifications taken only as hints
(read back from the API: twice, forged, lost), and the idempotence key on a retry."""
from __future__ import annotations

import uuid

from tests.integration.helpers import bearer, error, new_phone, register_by_phone, staff
from tests.integration.test_accounts import link, post_account

PAYMENT_PROVIDER = "yookassa"  # read by the system fixture
API = "/api/v1"
HOOK = f"{API}/payments/webhooks/yookassa"


def customer(sys, amount="640.00"):
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-10", "amount": amount})
    return tokens, account_id, number


def pay(sys, tokens, account_id, amount="640.00", **extra):
    return sys.client.post(f"{API}/payments", headers=bearer(tokens), json={
        "idempotency_key": str(uuid.uuid4()),
        "items": [{"account_id": account_id, "kind": "electricity", "amount": amount,
                   "period": "2026-10"}], **extra})


def seen(sys, tokens, payment_id):
    response = sys.client.get(f"{API}/payments/{payment_id}", headers=bearer(tokens))
    assert response.status_code == 200, response.json
    return response.json


def ref_of(fake, payment_id):
    return next(p["id"] for p in fake.payments.values()
                if p["metadata"].get("payment_id") == payment_id)


def notify(sys, fake, event, ref, **forged):
    return sys.client.post(HOOK, data=fake.notification(event, ref, **forged),
                           content_type="application/json")


def test_a_card_payment_with_its_receipt_counts_only_when_the_api_says_so(sys, fake_yookassa):
    tokens, account_id, number = customer(sys)
    no_contact = pay(sys, tokens, account_id)
    assert no_contact.status_code == 422 and "receipt_email" in error(no_contact)["fields"]
    sbp_saved = pay(sys, tokens, account_id, method="sbp", save_card=True,
                    receipt_email="ivanov@example.ru")
    assert sbp_saved.status_code == 422 and "method" in error(sbp_saved)["fields"]

    started = pay(sys, tokens, account_id, receipt_email="ivanov@example.ru", save_card=True)
    assert started.status_code == 201, started.json
    payment = started.json
    assert (payment["status"], payment["method"], payment["sbp_url"]) == (
        "requires_action", "card", None)
    assert payment["action"]["next_action"] == "redirect"
    assert payment["action"]["confirmation_url"].startswith(fake_yookassa.url)
    assert payment["receipt"]["status"] == "pending"
    assert payment["receipt"]["email"] == "ivanov@example.ru"
    assert payment["receipt"]["items"] == [{
        "description": f"Электроэнергия за 10.2026, л/с {number}", "amount": "640.00",
        "kind": "electricity", "period": "2026-10", "vat_code": 11,
        "payment_subject": "commodity", "payment_mode": "full_payment"}]
    create = next(r for r in fake_yookassa.requests if r["path"] == "/v3/payments")
    assert create["idempotence_key"] == f"create-{payment['id']}"
    assert create["body"]["capture"] is True
    assert create["body"]["receipt"]["customer"] == {"email": "ivanov@example.ru"}
    assert create["body"]["confirmation"]["return_url"].endswith(f"/pay/result/{payment['id']}")
    ref = ref_of(fake_yookassa, payment["id"])

    # A forged notification: the body says succeeded, ЮKassa's API says pending.
    forged = notify(sys, fake_yookassa, "payment.succeeded", ref, status="succeeded", paid=True)
    assert forged.status_code == 200
    assert seen(sys, tokens, payment["id"])["status"] == "requires_action"
    unknown = notify(sys, fake_yookassa, "payment.succeeded", str(uuid.uuid4()))
    assert unknown.status_code == 400 and "body" in error(unknown)["fields"]

    fake_yookassa.succeed(ref)
    first = notify(sys, fake_yookassa, "payment.succeeded", ref)
    assert first.status_code == 200 and first.json == {"duplicate": False,
                                                       "payment_id": payment["id"]}
    again = notify(sys, fake_yookassa, "payment.succeeded", ref)
    assert again.status_code == 200 and again.json["duplicate"] is True
    paid = seen(sys, tokens, payment["id"])
    assert paid["status"] == "succeeded" and paid["receipt"]["status"] == "pending"
    debt = sys.client.get(f"{API}/accounts/{account_id}/debt", headers=bearer(tokens)).json
    assert (debt["debt"], debt["advance"]) == ("0.00", "0.00")  # credited once

    fake_yookassa.register_receipts(ref)
    assert seen(sys, tokens, payment["id"])["receipt"]["status"] == "succeeded"
    history = sys.client.get(f"{API}/payments/history", headers=bearer(tokens)).json["items"]
    assert history[0]["method"] == "card" and history[0]["receipt"]["status"] == "succeeded"
    assert "email" not in history[0]["receipt"]

    # The Мир card was saved (save_payment_method): a payment with it goes through at once.
    cards = sys.client.get(f"{API}/payments/cards", headers=bearer(tokens)).json
    assert [(c["brand"], c["last4"]) for c in cards] == [("Mir", "4444")]
    again = pay(sys, tokens, account_id, "10.00", card_ref=cards[0]["ref"],
                receipt_phone="+79181234567")
    assert again.status_code == 201 and again.json["status"] == "succeeded", again.json
    assert fake_yookassa.requests[-1]["body"]["payment_method_id"] == cards[0]["ref"]


def test_sbp_then_a_cancellation_and_a_lost_notification_reconciled(sys, fake_yookassa):
    tokens, account_id, _ = customer(sys, "300.00")
    sbp = pay(sys, tokens, account_id, "100.00", method="sbp", receipt_phone="8 918 123-45-67")
    assert sbp.status_code == 201, sbp.json
    ref = ref_of(fake_yookassa, sbp.json["id"])
    assert sbp.json["method"] == "sbp" and sbp.json["sbp_url"] == f"https://qr.nspk.ru/{ref}"
    assert sbp.json["action"] == {"next_action": "sbp", "confirmation_url": sbp.json["sbp_url"]}
    assert sbp.json["receipt"]["phone"] == "+79181234567"
    assert fake_yookassa.payments[ref]["payment_method"]["type"] == "sbp"
    fake_yookassa.succeed(ref)
    assert notify(sys, fake_yookassa, "payment.succeeded", ref).status_code == 200
    done = seen(sys, tokens, sbp.json["id"])
    assert (done["status"], done["sbp_url"]) == ("succeeded", None)

    declined = pay(sys, tokens, account_id, "100.00", method="sbp",
                   receipt_email="ivanov@example.ru").json
    fake_yookassa.cancel(ref_of(fake_yookassa, declined["id"]), "canceled_by_merchant")
    notify(sys, fake_yookassa, "payment.canceled", ref_of(fake_yookassa, declined["id"]))
    canceled = seen(sys, tokens, declined["id"])
    assert canceled["status"] == "canceled" and canceled["receipt"]["status"] == "canceled"

    lost = pay(sys, tokens, account_id, "100.00", receipt_email="ivanov@example.ru").json
    fake_yookassa.succeed(ref_of(fake_yookassa, lost["id"]))  # no notification arrives
    minutes = sys.config["PAYMENT_RECONCILE_MINUTES"] + 1
    sys.clock.advance(minutes=minutes)
    sys.tick("payments", "reconcile")
    sys.clock.advance(minutes=-minutes)
    assert seen(sys, tokens, lost["id"])["status"] == "succeeded"
    debt = sys.client.get(f"{API}/accounts/{account_id}/debt", headers=bearer(tokens)).json
    assert debt["debt"] == "100.00"  # 300 less the two paid, not the canceled one


def test_a_refund_carries_its_receipt_and_a_retry_reuses_the_idempotence_key(sys, fake_yookassa):
    tokens, account_id, _ = customer(sys, "500.00")
    fake_yookassa.fail_next = 1  # ЮKassa is down when the payment is started
    down = pay(sys, tokens, account_id, "500.00", receipt_email="ivanov@example.ru")
    assert down.status_code == 503, down.json
    payment_id = fake_yookassa.requests[-1]["body"]["metadata"]["payment_id"]
    minutes = sys.config["PAYMENT_RECONCILE_MINUTES"] + 1
    sys.clock.advance(minutes=minutes)
    sys.tick("payments", "reconcile")  # asks again, with the same key: one payment at ЮKassa
    sys.clock.advance(minutes=-minutes)
    assert seen(sys, tokens, payment_id)["status"] == "requires_action"
    keys = [r["idempotence_key"] for r in fake_yookassa.requests if r["path"] == "/v3/payments"]
    assert keys and set(keys) == {f"create-{payment_id}"} and len(fake_yookassa.payments) == 1
    ref = ref_of(fake_yookassa, payment_id)
    fake_yookassa.succeed(ref)
    notify(sys, fake_yookassa, "payment.succeeded", ref)

    operator = staff(sys, "operator")
    refunded = sys.client.post(f"{API}/payments/{payment_id}/refunds", headers=bearer(operator),
                               json={"amount": "120.00", "reason": "Переплата"})
    assert refunded.status_code == 200, refunded.json
    receipt = refunded.json["refunds"][0]["receipt"]
    assert receipt["status"] == "pending" and receipt["items"][0]["amount"] == "120.00"
    sent = next(r for r in fake_yookassa.requests if r["path"] == "/v3/refunds")
    assert sent["body"]["receipt"]["items"][0]["amount"]["value"] == "120.00"
    assert sent["body"]["receipt"]["customer"] == {"email": "ivanov@example.ru"}
    assert fake_yookassa.payments[ref]["refunded_amount"]["value"] == "120.00"
    fake_yookassa.register_receipts(ref)
    after = seen(sys, tokens, payment_id)
    assert after["status"] == "partially_refunded" and after["refunded"] == "120.00"
    assert after["refunds"][0]["receipt"]["status"] == "succeeded"
    assert after["receipt"]["status"] == "succeeded"

"""ОПЛАТА ЗАДОЛЖЕННОСТИ И(ИЛИ) ПЕНИ and the Платежи tabs, through the gateway, with the
sandbox provider (a card form with test cards), billing on the bus and plain pika listening."""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from decimal import Decimal

import jsonschema

from services.payments.providers.sandbox import SIGNATURE_HEADER, SandboxProvider
from shared.contracts.__main__ import all_schemas
from tests.integration.helpers import (bearer, error, eventually, login, new_phone,
                                       register_by_email, register_by_phone, staff)
from tests.integration.test_accounts import link, post_account

API = "/api/v1"
VISA, DECLINED, THREE_DS = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0027 6000 3184"


def move_to(sys, day: date) -> None:
    target = datetime(day.year, day.month, day.day, 12, 0, tzinfo=timezone.utc)
    sys.clock.advance(seconds=(target - sys.clock.now()).total_seconds())


def refresh(sys, tokens) -> dict:
    """Signed in again after the clock moved (maybe beyond the refresh token's 30 days)."""
    response = login(sys, phone=tokens["user"]["phone"])
    assert response.status_code == 200, response.json
    return response.json


def customer_with_debt(sys, charges: dict[str, str]) -> tuple[dict, int, str]:
    """A customer with a linked account that billing charged ``{period: amount}``."""
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    for period, amount in charges.items():
        sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                     "period": period, "amount": amount})
    return tokens, account_id, number


def debt(sys, tokens, account_id) -> dict:
    response = sys.client.get(f"{API}/accounts/{account_id}/debt", headers=bearer(tokens))
    assert response.status_code == 200, response.json
    return response.json


def pay(sys, tokens, items, key=None, **extra):
    return sys.client.post(f"{API}/payments", headers=bearer(tokens), json={
        "idempotency_key": key or str(uuid.uuid4()), "items": items, **extra})


def card(sys, tokens, payment, number=VISA, **extra):
    ref = payment["action"]["confirmation_url"].rstrip("/").split("/")[-1]
    return sys.client.post(f"{API}/payments/sandbox/{ref}", headers=bearer(tokens), json={
        "card_number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123", **extra})


def test_billing_charges_then_the_customer_pays_by_card_and_billing_hears(sys):
    tokens, account_id, number = customer_with_debt(sys, {"2026-09": "1520.40",
                                                           "2026-10": "980.00"})
    move_to(sys, date(2026, 11, 5))  # both before their due dates: no penalty
    tokens = refresh(sys, tokens)
    before = debt(sys, tokens, account_id)
    assert before["debt"] == "2500.40" and before["penalties"] == "0.00"
    assert before["to_pay"] == "2500.40"
    assert [p["period"] for p in before["periods"]] == ["2026-09", "2026-10"]
    # bills from March 2026 are due by the 15th (ФЗ №177-ФЗ)
    assert [p["due_date"] for p in before["periods"]] == ["2026-10-15", "2026-11-16"]

    tap = sys.tap("payments")
    started = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "amount": "1600.00"}])
    assert started.status_code == 201, started.json
    payment = started.json
    assert payment["status"] == "requires_action" and payment["action"]["next_action"] == "card_form"
    assert debt(sys, tokens, account_id)["debt"] == "2500.40"  # not money until confirmed
    # no period named: the receipt names the periods the money goes to
    assert [(i["description"], i["amount"]) for i in payment["receipt"]["items"]] == [
        (f"Электроэнергия за 09.2026, л/с {number}", "1520.40"),
        (f"Электроэнергия за 10.2026, л/с {number}", "79.60")]

    paid = card(sys, tokens, payment)
    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "succeeded"
    after = debt(sys, tokens, account_id)
    # the oldest period first: September paid in full, 79.60 of October
    assert after["debt"] == "900.40"
    assert [(p["period"], p["open"]) for p in after["periods"]] == [("2026-09", "0.00"),
                                                                   ("2026-10", "900.40")]
    event = tap.wait_for("payment_succeeded", lambda p: p["payment_id"] == payment["id"])
    schema = next(s for s in all_schemas() if s["title"] == "payments.payment_succeeded v1")
    jsonschema.validate(event, schema, format_checker=jsonschema.FormatChecker())
    assert event["payload"]["items"][0]["number"] == number
    assert event["payload"]["amount"] == "1600.00"
    tap.wait_for("payment_created", lambda p: p["payment_id"] == payment["id"])
    tap.close()

    history = sys.client.get(f"{API}/payments/history", headers=bearer(tokens)).json
    assert len(history["items"]) == 1 and history["next"] is None
    row = history["items"][0]
    assert (row["payment_id"], row["amount"], row["type"], row["source"], row["status"]) == (
        payment["id"], "1600.00", "electricity", "card", "succeeded")
    again = card(sys, tokens, payment)  # the form posted once more: the payment is settled
    assert again.status_code == 409


def test_a_declined_card_then_a_good_one_and_3ds(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-10": "500.00"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    payment = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "amount": "500.00"}]).json
    declined = card(sys, tokens, payment, DECLINED)
    assert declined.status_code == 200 and declined.json["status"] == "failed"
    assert declined.json["failure_reason"] == "card_declined"
    assert debt(sys, tokens, account_id)["debt"] == "500.00"
    bad = card(sys, tokens, payment, "4242 4242 4242 4241")
    assert bad.status_code == 422 and "card_number" in error(bad)["fields"]

    needs_3ds = card(sys, tokens, payment, THREE_DS)
    assert needs_3ds.json["status"] == "requires_action"
    assert needs_3ds.json["action"]["next_action"] == "3ds"
    ref = payment["action"]["confirmation_url"].rstrip("/").split("/")[-1]
    done = sys.client.post(f"{API}/payments/sandbox/{ref}/3ds", headers=bearer(tokens),
                           json={"code": "111111"})
    assert done.status_code == 200 and done.json["status"] == "succeeded"
    assert debt(sys, tokens, account_id)["debt"] == "0.00"


def test_a_double_click_pays_once(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-10": "700.00"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    key = str(uuid.uuid4())
    items = [{"account_id": account_id, "kind": "electricity", "amount": "700.00"}]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: pay(sys, tokens, items, key), range(4)))
    assert all(r.status_code == 201 for r in results), [r.json for r in results]
    assert len({r.json["id"] for r in results}) == 1
    assert card(sys, tokens, results[0].json).json["status"] == "succeeded"
    history = sys.client.get(f"{API}/payments/history", headers=bearer(tokens),
                             query_string={"account_id": account_id}).json
    assert len(history["items"]) == 1
    other = pay(sys, tokens, [{**items[0], "amount": "1.00"}], key)
    assert other.status_code == 409 and "idempotency_key" in error(other)["fields"]


def test_a_signed_webhook_twice_changes_nothing_twice_and_a_forged_one_is_refused(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-10": "300.00"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    payment = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "amount": "300.00"}]).json
    ref = payment["action"]["confirmation_url"].rstrip("/").split("/")[-1]
    snapshot = {"id": ref, "status": "succeeded", "amount": 30000, "currency": "RUB",
                "customer": None, "card": None, "card_saved": False, "failure_reason": None,
                "failure_message": None, "refunded": 0,
                "metadata": {"payment_id": payment["id"]}}
    body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded",
                       "created": int(sys.clock.now().timestamp()),
                       "data": {"object": snapshot}}).encode()
    signer = SandboxProvider(store=None, webhook_secret=sys.config["SANDBOX_WEBHOOK_SECRET"],
                             now=sys.clock.now)
    genuine = signer.signature(body)
    wrong = genuine[:-1] + ("1" if genuine[-1] == "0" else "0")  # one hex digit off, always
    forged = sys.client.post(f"{API}/payments/webhooks/sandbox", data=body,
                             headers={SIGNATURE_HEADER: wrong})
    assert forged.status_code == 401 and "signature" in error(forged)["fields"]
    tap = sys.tap("payments")
    for attempt in range(2):
        response = sys.client.post(f"{API}/payments/webhooks/sandbox", data=body,
                                   headers={SIGNATURE_HEADER: signer.signature(body)})
        assert response.status_code == 200, response.json
        assert response.json["duplicate"] is (attempt == 1)
    tap.wait_for("payment_succeeded", lambda p: p["payment_id"] == payment["id"])
    time.sleep(0.5)
    assert [e["type"] for e in tap.drain()].count("payment_succeeded") == 1
    tap.close()
    assert debt(sys, tokens, account_id)["debt"] == "0.00"


def test_penalties_are_shown_how_they_were_computed_and_can_be_paid(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-01": "1000.00"})
    # Due 10.02.2026 (a Tuesday); day 31 is 13.03.2026. On 11.05.2026 the debt is 90 days
    # overdue: days 31..90 = 60 days at 1/300 of the rate.
    move_to(sys, date(2026, 5, 11))
    tokens = refresh(sys, tokens)
    statement = debt(sys, tokens, account_id)
    assert Decimal(statement["penalties"]) > 0
    details = sys.client.get(f"{API}/accounts/{account_id}/penalties",
                             headers=bearer(tokens)).json
    charge = details["charges"][0]
    assert charge["period"] == "2026-01" and charge["due_date"] == "2026-02-10"
    line = charge["lines"][0]
    assert line["date_from"] == "2026-03-13" and line["fraction"] == "1/300"
    assert line["base"] == "1000.00" and line["days"] == 60
    assert line["regime"]["kind"] == "capped" and line["regime"]["cap"] == "9.50"
    later = sys.client.get(f"{API}/accounts/{account_id}/penalties", headers=bearer(tokens),
                           query_string={"pay_on": "2026-06-30"}).json
    assert Decimal(later["total"]) > Decimal(details["total"])
    assert any(l["fraction"] == "1/130" for l in later["charges"][0]["lines"])
    past = sys.client.get(f"{API}/accounts/{account_id}/penalties", headers=bearer(tokens),
                          query_string={"pay_on": "2020-01-01"})
    assert past.status_code == 422 and "pay_on" in error(past)["fields"]

    too_much = pay(sys, tokens, [{"account_id": account_id, "kind": "penalty",
                                  "amount": str(Decimal(statement["penalties"]) + 1)}])
    assert too_much.status_code == 422
    both = pay(sys, tokens, [
        {"account_id": account_id, "kind": "electricity", "amount": statement["debt"]},
        {"account_id": account_id, "kind": "penalty", "amount": statement["penalties"]}]).json
    assert card(sys, tokens, both).json["status"] == "succeeded"
    after = debt(sys, tokens, account_id)
    assert (after["debt"], after["penalties"], after["to_pay"]) == ("0.00", "0.00", "0.00")
    types = {r["type"] for r in sys.client.get(f"{API}/payments/history",
                                               headers=bearer(tokens)).json["items"]}
    assert types == {"electricity", "penalty"}


def test_bad_payment_requests_get_clear_errors_and_strangers_are_refused(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-10": "100.00"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    cases = [
        ({"kind": "electricity", "amount": "-5"}, "items[0].amount"),
        ({"kind": "electricity", "amount": "10.005"}, "items[0].amount"),
        ({"kind": "electricity", "amount": "abc"}, "items[0].amount"),
        ({"kind": "electricity", "amount": "10", "period": "2019-01"}, "items[0].period"),
    ]
    for item, field in cases:
        response = pay(sys, tokens, [{"account_id": account_id, **item}])
        assert response.status_code == 422 and field in error(response)["fields"], response.json
    shape = pay(sys, tokens, [{"account_id": account_id, "kind": "gift", "amount": "1"}])
    assert shape.status_code == 400
    stranger = register_by_phone(sys, new_phone())
    theirs = pay(sys, stranger, [{"account_id": account_id, "kind": "electricity",
                                  "amount": "100.00"}])
    assert theirs.status_code == 404
    mine = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                              "amount": "100.00"}]).json
    assert sys.client.get(f"{API}/payments/{mine['id']}", headers=bearer(stranger)).status_code == 404
    assert card(sys, stranger, mine).status_code == 404
    ref = mine["action"]["confirmation_url"].rstrip("/").split("/")[-1]  # the QR code's page
    shown = sys.client.get(f"{API}/payments/sandbox/{ref}", headers=bearer(tokens))
    assert shown.status_code == 200 and (shown.json["id"], shown.json["amount"]) == (
        mine["id"], "100.00")
    theirs = sys.client.get(f"{API}/payments/sandbox/{ref}", headers=bearer(stranger))
    assert theirs.status_code == 404 and "provider_ref" in error(theirs)["fields"]
    assert sys.client.get(f"{API}/payments/history", headers=bearer(stranger)).json["items"] == []


def test_an_operator_refunds_and_the_customer_sees_it(sys):
    tokens, account_id, _ = customer_with_debt(sys, {"2026-10": "250.00"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    payment = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "amount": "500.00"}]).json  # 250 too much: an advance
    card(sys, tokens, payment)
    assert debt(sys, tokens, account_id)["advance"] == "250.00"
    refused = sys.client.post(f"{API}/payments/{payment['id']}/refunds", headers=bearer(tokens),
                              json={"amount": "250.00", "reason": "Переплата"})
    assert refused.status_code == 403
    operator = staff(sys, "operator")
    too_much = sys.client.post(f"{API}/payments/{payment['id']}/refunds",
                               headers=bearer(operator), json={"amount": "600.00",
                                                               "reason": "Переплата"})
    assert too_much.status_code == 422
    refunded = sys.client.post(f"{API}/payments/{payment['id']}/refunds",
                               headers=bearer(operator), json={"amount": "250.00",
                                                               "reason": "Переплата"})
    assert refunded.status_code == 200, refunded.json
    assert refunded.json["status"] == "partially_refunded"
    seen = sys.client.get(f"{API}/payments/{payment['id']}", headers=bearer(tokens)).json
    assert seen["refunded"] == "250.00" and seen["refunds"][0]["reason"] == "Переплата"
    after = debt(sys, tokens, account_id)
    assert (after["debt"], after["advance"]) == ("0.00", "0.00")


def test_a_saved_card_and_an_automatic_payment_that_never_runs_twice(sys):
    tokens, account_id, number = customer_with_debt(sys, {"2026-09": "100.00"})
    move_to(sys, date(2026, 10, 1))
    tokens = refresh(sys, tokens)
    first = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                               "amount": "100.00"}], save_card=True).json
    assert card(sys, tokens, first).json["status"] == "succeeded"
    cards = sys.client.get(f"{API}/payments/cards", headers=bearer(tokens)).json
    assert len(cards) == 1 and cards[0]["last4"] == "4242"
    on = sys.client.put(f"{API}/accounts/{account_id}/autopay", headers=bearer(tokens),
                        json={"card_ref": cards[0]["ref"]})
    assert on.status_code == 200, on.json

    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-10", "amount": "420.00"})
    move_to(sys, date(2026, 11, 13))  # due 16.11.2026 (the 15th is a Sunday): days before it
    sys.tick("payments", "run_autopays")
    sys.tick("payments", "run_autopays")
    tokens = refresh(sys, tokens)
    assert debt(sys, tokens, account_id)["debt"] == "0.00"
    rows = sys.client.get(f"{API}/payments/history", headers=bearer(tokens)).json["items"]
    assert [r["source"] for r in rows].count("autopay") == 1

    off = sys.client.delete(f"{API}/accounts/{account_id}/autopay", headers=bearer(tokens))
    assert off.status_code == 204
    assert sys.client.get(f"{API}/payments/autopay", headers=bearer(tokens)).json == []


def test_all_accounts_debt_for_the_header(sys):
    tokens, first, number = customer_with_debt(sys, {"2026-10": "100.00"})
    second_number = post_account(sys)
    second = link(sys, tokens, second_number).json["id"]
    sys.billing_to("payments", "charge_posted", {"number": second_number, "branch": "mostovskoy",
                                                 "period": "2026-10", "amount": "50.50"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh(sys, tokens)
    total = eventually(lambda: (r := sys.client.get(f"{API}/payments/debt",
                                                    headers=bearer(tokens)).json)
                       ["debt"] == "150.50" and r, what="both accounts in the total")
    assert {a["account_id"] for a in total["accounts"]} == {first, second}
    summary = sys.client.get(f"{API}/summary", headers=bearer(tokens)).json
    assert summary["balance"] == {"debt": "150.50", "penalties": "0.00", "to_pay": "150.50"}


def test_reading_preview_estimates_the_charge_at_the_account_tariff(sys):
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    move_to(sys, date(2026, 10, 20))
    tokens = refresh(sys, tokens)
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}/meters",
                                      headers=bearer(tokens)).json, what="meters")
    sent = sys.client.post(f"{API}/accounts/{account_id}/readings", headers=bearer(tokens),
                           json={"meter_serial": "1000911502333", "values": [1000]})
    assert sent.status_code == 201, sent.json
    move_to(sys, date(2026, 11, 20))
    tokens = refresh(sys, tokens)
    preview = sys.client.post(f"{API}/accounts/{account_id}/readings/preview",
                              headers=bearer(tokens),
                              json={"meter_serial": "1000911502333", "values": [2200]}).json
    # 1200 kWh, urban: 1100 × 7.35 + 100 × 10.00 = 8085.00 + 1000.00
    assert preview["consumption"] == [1200]
    assert preview["estimate"]["amount"] == "9085.00"
    assert [l["kwh"] for l in preview["estimate"]["lines"]] == [1100, 100]


def test_the_builtin_accrual_charges_a_month_once_from_the_readings(sys):
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    move_to(sys, date(2026, 9, 20))
    tokens = refresh(sys, tokens)
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}/meters",
                                      headers=bearer(tokens)).json, what="meters")
    for day, value in ((date(2026, 9, 20), 5000), (date(2026, 10, 20), 5250)):
        move_to(sys, day)
        tokens = refresh(sys, tokens)
        sent = sys.client.post(f"{API}/accounts/{account_id}/readings", headers=bearer(tokens),
                               json={"meter_serial": "1000911502333", "values": [value]})
        assert sent.status_code == 201, sent.json
    move_to(sys, date(2026, 11, 2))
    tap = sys.tap("payments")
    eventually(lambda: sys.tick("payments", "accrue"), what="the accrual of October")
    sys.tick("payments", "accrue")  # a second run charges nothing more
    event = tap.wait_for("charge_posted", lambda p: p["number"] == number)
    tap.close()
    assert event["payload"]["period"] == "2026-10" and event["payload"]["amount"] == "1837.50"
    tokens = refresh(sys, tokens)
    statement = debt(sys, tokens, account_id)
    # 250 kWh × 7.35 ₽ (urban, first range), due 16.11.2026 (the 15th is a Sunday)
    assert [(p["period"], p["amount"], p["due_date"]) for p in statement["periods"]] == [
        ("2026-10", "1837.50", "2026-11-16")]



def test_the_payment_confirmation_goes_by_email_and_to_the_feed(sys):
    email = f"payer{uuid.uuid4().hex[:8]}@example.ru"
    tokens = register_by_email(sys, email)
    sys.wait_contact(tokens["user"]["id"])
    number = post_account(sys)
    account_id = link(sys, tokens, number).json["id"]
    sys.billing_to("payments", "charge_posted", {"number": number, "branch": "mostovskoy",
                                                 "period": "2026-10", "amount": "77.70"})
    move_to(sys, date(2026, 11, 5))
    tokens = refresh_by_email(sys, email)
    payment = pay(sys, tokens, [{"account_id": account_id, "kind": "electricity",
                                 "amount": "77.70"}]).json
    assert card(sys, tokens, payment).json["status"] == "succeeded"
    mail = eventually(lambda: [m for m in sys.mail.messages
                               if email in str(m["to"]) and "Оплата прошла" in str(m["subject"])],
                      what="the confirmation e-mail")
    assert "77.70" in mail[0]["body"] and number in mail[0]["body"]
    feed = sys.client.get(f"{API}/notices", headers=bearer(tokens)).json["items"]
    assert any(n["kind"] == "payment_succeeded" for n in feed)


def refresh_by_email(sys, email) -> dict:
    response = login(sys, email=email)
    assert response.status_code == 200, response.json
    return response.json

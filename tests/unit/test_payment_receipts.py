"""54-ФЗ receipts (services/payments/domain/receipts.py), the sandbox's СБП "bank app" and
receipts, and ЮKassa's notifications checked by the sender's address."""
from __future__ import annotations

from decimal import Decimal

import pytest

from services.payments.domain import penalties, receipts
from services.payments.providers.base import ProviderError, SignatureInvalid
from services.payments.providers.sandbox import MemoryStore, SandboxProvider
from services.payments.providers.yookassa_provider import YooKassaProvider
from shared.errors import ValidationFailed

CONFIG = {"RECEIPT_TAX_SYSTEM_CODE": 2, "RECEIPT_VAT_CODE": 11, "RECEIPT_PENALTY_VAT_CODE": 1,
          "RECEIPT_PAYMENT_SUBJECT": "commodity", "RECEIPT_PENALTY_PAYMENT_SUBJECT": "another",
          "RECEIPT_PAYMENT_MODE": "full_payment"}


def a_receipt() -> dict:
    return receipts.build([("electricity", "123456789", "2026-10", Decimal("600.00")),
                           ("penalty", "123456789", None, Decimal("40.50"))],
                          {"email": "a@b.ru"}, CONFIG)


def test_one_item_per_account_and_period_and_penalties_apart() -> None:
    receipt = a_receipt()
    assert receipt["tax_system_code"] == 2 and receipt["status"] == "pending"
    electricity, penalty = receipt["items"]
    assert electricity["description"] == "Электроэнергия за 10.2026, л/с 123456789"
    assert (electricity["vat_code"], electricity["payment_subject"]) == (11, "commodity")
    assert penalty["description"].startswith("Пени")
    assert (penalty["vat_code"], penalty["payment_subject"], penalty["amount"]) == (
        1, "another", "40.50")


def test_electricity_without_a_period_names_the_periods_it_pays_oldest_first() -> None:
    debts = {1: receipts.open_charges([
        {"period": "2026-10", "open": "980.00", "due_date": "2026-11-16"},
        {"period": "2026-09", "open": "1520.40", "due_date": "2026-10-15"},
        {"period": "2026-08", "open": "0.00", "due_date": "2026-09-15"}]), 2: []}
    lines = receipts.allocated([(1, "electricity", "111", "2026-10", Decimal("100.00")),
                                (1, "electricity", "111", None, Decimal("2500.40")),
                                (1, "penalty", "111", None, Decimal("7.00")),
                                (2, "electricity", "222", None, Decimal("50.00")),
                                (3, "electricity", "333", None, Decimal("5.00"))], debts)
    items = receipts.build(lines, {}, CONFIG)["items"]
    assert [(i["description"], i["amount"], i["period"], i["kind"]) for i in items] == [
        ("Электроэнергия за 10.2026, л/с 111", "100.00", "2026-10", "electricity"),
        ("Электроэнергия за 09.2026, л/с 111", "1520.40", "2026-09", "electricity"),
        ("Электроэнергия за 10.2026, л/с 111", "880.00", "2026-10", "electricity"),
        ("Электроэнергия (аванс), л/с 111", "100.00", None, "electricity"),
        ("Пени за просрочку оплаты электроэнергии, л/с 111", "7.00", None, "penalty"),
        ("Электроэнергия (аванс), л/с 222", "50.00", None, "electricity"),
        ("Электроэнергия, л/с 333", "5.00", None, "electricity")]  # no statement: as given
    assert sum(Decimal(i["amount"]) for i in items) == Decimal("2662.40")
    many = {n: [penalties.Charge(f"20{24 + m // 12}-{m % 12 + 1:02d}", Decimal("1.00"))
                for m in range(11, 17)] for n in range(20)}  # 12.2024–05.2025 each
    spans = receipts.build(receipts.allocated(
        [(n, "electricity", str(n), None, Decimal("6.00")) for n in range(20)], many), {},
        CONFIG)["items"]
    assert len(spans) == 20 and spans[0]["period"] is None  # ЮKassa takes at most 100 items
    assert spans[0]["description"] == "Электроэнергия за 12.2024–05.2025, л/с 0"
    assert {i["amount"] for i in spans} == {"6.00"}


def test_a_refund_returns_the_items_in_order_up_to_its_sum() -> None:
    refund = receipts.for_refund(a_receipt(), Decimal("620.00"))
    assert [i["amount"] for i in refund["items"]] == ["600.00", "20.00"]
    assert [i["amount"] for i in receipts.for_refund(a_receipt(), Decimal("5"))["items"]] == [
        "5.00"]


def test_a_final_receipt_state_stays() -> None:
    done = receipts.with_status(a_receipt(), "succeeded")
    assert done["status"] == "succeeded"
    assert receipts.with_status(done, "pending")["status"] == "succeeded"
    assert receipts.with_status(None, "succeeded") is None
    assert "email" not in receipts.view(done, with_contact=False)


@pytest.mark.parametrize("email, phone, field", [
    ("not-an-email", None, "receipt_email"), (None, "12345", "receipt_phone"),
    (None, None, "receipt_email")])
def test_a_receipt_contact_is_checked(email, phone, field) -> None:
    with pytest.raises(ValidationFailed) as caught:
        receipts.contact(email, phone, required=True)
    assert field in caught.value.fields
    assert receipts.contact(None, "8 (918) 123-45-67", True) == {"phone": "+79181234567"}
    assert receipts.contact(None, None, required=False) == {}


def test_the_sandbox_sbp_bank_app_pays_or_cancels_with_the_receipt() -> None:
    sandbox = SandboxProvider(MemoryStore(), "secret",
                              sbp_url="http://cab/payments/sandbox-sbp/{ref}")
    sent = {k: v for k, v in a_receipt().items() if k != "status"}

    def start(key: str):
        return sandbox.create_payment(payment_id=key, amount_kopecks=64050, description="x",
                                      customer_ref=None, save_card=False, saved_card_ref=None,
                                      idempotency_key=key, metadata={}, method="sbp",
                                      receipt=sent)

    waiting = start("p1")
    assert (waiting.status, waiting.next_action, waiting.method) == (
        "requires_action", "sbp", "sbp")
    assert waiting.sbp_url == f"http://cab/payments/sandbox-sbp/{waiting.provider_ref}"
    assert waiting.receipt_status == "pending"
    paid = sandbox.approve_sbp(waiting.provider_ref, True)
    assert (paid.status, paid.receipt_status, paid.sbp_url) == ("succeeded", "succeeded", None)
    with pytest.raises(ProviderError):
        sandbox.approve_sbp(waiting.provider_ref, False)  # paid already
    refund = sandbox.refund(paid.provider_ref, 100, "r1", receipt=sent)
    assert refund.receipt_status == "succeeded"

    declined = sandbox.approve_sbp(start("p2").provider_ref, False)
    assert (declined.status, declined.receipt_status) == ("canceled", "canceled")
    with pytest.raises(ValueError):  # СБП saves no card
        sandbox.create_payment(payment_id="p3", amount_kopecks=100, description="x",
                               customer_ref="cus", save_card=True, saved_card_ref=None,
                               idempotency_key="p3", metadata={}, method="sbp")


def test_yookassa_notifications_from_elsewhere_are_refused_before_anything() -> None:
    provider = YooKassaProvider("1", "key", api_url="http://127.0.0.1:9", check_ip=True)
    with pytest.raises(SignatureInvalid):
        provider.parse_webhook(b"{}", {"Remote-Addr": "203.0.113.5"})
    with pytest.raises(ProviderError) as caught:  # from ЮKassa's range: read, then malformed
        provider.parse_webhook(b"{}", {"Remote-Addr": "185.71.76.10"})
    assert caught.value.code == "malformed_event"


def test_a_deleted_users_receipt_contacts_are_erased() -> None:
    from datetime import datetime, timezone

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.payments.domain.erasure import forget_user
    from services.payments.models import Payment, PaymentsBase

    engine = create_engine("sqlite://")
    PaymentsBase.metadata.create_all(engine)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with Session(engine) as db:
        db.add(Payment(id="p1", user_id="u1", idempotency_key="k" * 8, amount=Decimal("640.50"),
                       status="succeeded", source="card", provider="sandbox",
                       created_at=now, updated_at=now, receipt=a_receipt()))
        db.commit()
        forget_user(db, SandboxProvider(MemoryStore(), "secret"), "u1", now)
        receipt = db.get(Payment, "p1").receipt
    assert receipt["customer"] == {} and len(receipt["items"]) == 2

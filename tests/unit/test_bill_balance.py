"""The bill's «на начало периода» line: what was true on the first day of the billed month.

A payment made later (December, credited to June) must not turn June's opening debt into an
overpayment; it shows as paid, and the printed figures still add up to the total.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.payments.domain import calendar
from services.payments.domain.key_rates import load_key_rates
from services.payments.domain.ledger import Statement, ensure_account
from services.payments.models import Charge, Payment, PaymentItem, PaymentsBase
from shared.work import Work

D = Decimal


@pytest.fixture
def db():
    engine = create_engine("sqlite://")
    PaymentsBase.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def charge(db: Session, ledger_id: int, period: str, amount: str) -> None:
    db.add(Charge(ledger_id=ledger_id, period=period, amount=D(amount), source="billing",
                  due_date=calendar.due_date(period), lines=[],
                  posted_at=datetime(2025, 1, 1, tzinfo=timezone.utc)))


def paid(db: Session, ledger_id: int, on: date, amount: str, period: str | None = None) -> None:
    at = datetime(on.year, on.month, on.day, 9, tzinfo=timezone.utc)
    payment = Payment(id=str(uuid.uuid4()), user_id="u", idempotency_key=str(uuid.uuid4()),
                      amount=D(amount), refunded=D("0"), status="succeeded", source="card",
                      provider="sandbox", save_card=False, created_at=at, updated_at=at,
                      paid_at=at)
    payment.items = [PaymentItem(ledger_id=ledger_id, kind="electricity", period=period,
                                 amount=D(amount))]
    db.add(payment)


def bill(db: Session, period: str, today: date) -> dict:
    account = ensure_account(db, "123456789", "mostovskoy")
    now = datetime(today.year, today.month, today.day, 12, tzinfo=timezone.utc)
    work = Work(db=db, config={}, now=now, record=lambda *_: None)
    return Statement(work, load_key_rates()).bill(account, period)


def adds_up(printed: dict) -> bool:
    left = (D(printed["debt_at_start"]) + D(printed["charged"]) - D(printed["paid"])
            + D(printed["penalties"]))
    return left == D(printed["total_due"])


def test_a_june_bill_paid_in_december_opens_june_with_what_was_owed_then(db) -> None:
    account = ensure_account(db, "123456789", "mostovskoy")
    charge(db, account.id, "2025-06", "100.00")
    paid(db, account.id, date(2025, 12, 5), "100.00", "2025-06")

    printed = bill(db, "2025-06", date(2025, 12, 10))

    # Nothing was owed on 01.06.2025 and nothing paid ahead: not «Переплата 100,00».
    assert printed["debt_at_start"] == "0.00"
    assert (printed["charged"], printed["paid"]) == ("100.00", "100.00")
    assert D(printed["penalties"]) > 0  # paid months late: the penalty is what is left to pay
    assert printed["total_due"] == printed["penalties"]
    assert adds_up(printed)


def test_the_opening_debt_is_the_earlier_months_less_what_was_paid_before_the_1st(db) -> None:
    account = ensure_account(db, "123456789", "mostovskoy")
    charge(db, account.id, "2025-04", "300.00")
    charge(db, account.id, "2025-05", "200.00")
    charge(db, account.id, "2025-06", "100.00")
    paid(db, account.id, date(2025, 5, 8), "300.00")  # April's bill, before June
    paid(db, account.id, date(2025, 6, 9), "250.00")  # in June: May's bill and 50 of June's

    printed = bill(db, "2025-06", date(2025, 6, 20))

    # On 01.06.2025: 300 + 200 charged before June, 300 paid before it: 200.00 owed.
    assert printed["debt_at_start"] == "200.00"
    assert printed["paid"] == "250.00"
    assert printed["total_due"] == "50.00"  # 200 + 100 − 250, no penalty yet
    assert adds_up(printed)


def test_money_paid_ahead_before_the_month_is_an_overpayment_at_its_start(db) -> None:
    account = ensure_account(db, "123456789", "mostovskoy")
    charge(db, account.id, "2025-06", "100.00")
    paid(db, account.id, date(2025, 5, 20), "150.00")  # an advance, before June

    printed = bill(db, "2025-06", date(2025, 7, 1))

    assert printed["debt_at_start"] == "-150.00"  # «Переплата на начало периода 150,00»
    assert printed["paid"] == "0.00"
    assert printed["total_due"] == "0.00"  # 50.00 stays an advance
    assert adds_up({**printed, "total_due": "-50.00"})


def test_a_payment_ahead_for_a_later_month_is_left_to_that_month_s_bill(db) -> None:
    account = ensure_account(db, "123456789", "mostovskoy")
    charge(db, account.id, "2025-06", "100.00")
    charge(db, account.id, "2025-07", "120.00")
    paid(db, account.id, date(2025, 5, 20), "120.00", "2025-07")  # named July, paid in May

    june = bill(db, "2025-06", date(2025, 7, 5))

    assert june["debt_at_start"] == "0.00"
    assert (june["paid"], june["total_due"]) == ("0.00", "100.00")
    assert adds_up(june)

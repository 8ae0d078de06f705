"""Automatic monthly payment of an account's bill with a saved card.

A bill is paid automatically once at most: the run is recorded (unique per charge) before the
card is charged. It is skipped when the bill is already paid or someone paid the account by
hand that same day.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.payments.domain.checkout import Checkout
from services.payments.domain.ledger import Statement
from services.payments.models import (AutoPay, AutoPayRun, Charge, Customer, LedgerAccount,
                                      Payment, PaymentItem)
from shared.errors import Conflict
from shared.work import Work

DAYS_BEFORE_DUE = 3


def view(row: AutoPay, account: LedgerAccount) -> dict[str, Any]:
    return {"account_id": account.account_id, "number": account.number,
            "card_ref": row.card_ref, "card": row.card_label,
            "since": row.created_at.isoformat()}


def _active(work: Work, user_id: str, ledger_id: int | None = None) -> list[AutoPay]:
    query = select(AutoPay).where(AutoPay.user_id == user_id, AutoPay.cancelled_at.is_(None))
    if ledger_id is not None:
        query = query.where(AutoPay.ledger_id == ledger_id)
    return list(work.db.scalars(query))


def enable(work: Work, user_id: str, account: LedgerAccount, card: dict[str, Any]
           ) -> dict[str, Any]:
    for row in _active(work, user_id, account.id):  # one card per account: the new one wins
        row.cancelled_at = work.now
    row = AutoPay(user_id=user_id, ledger_id=account.id, card_ref=card["ref"],
                  card_label=f"{card['brand']} •••• {card['last4']}", created_at=work.now)
    work.db.add(row)
    work.db.commit()
    return view(row, account)


def cancel(work: Work, user_id: str, account: LedgerAccount) -> None:
    rows = _active(work, user_id, account.id)
    if not rows:
        raise Conflict("Автоплатёж по этому счёту не подключён", {"account_id": "no autopay"})
    for row in rows:
        row.cancelled_at = work.now
    work.db.commit()


def cancel_for_card(work: Work, user_id: str, card_ref: str) -> None:
    for row in _active(work, user_id):
        if row.card_ref == card_ref:
            row.cancelled_at = work.now
    work.db.commit()


def of_user(work: Work, user_id: str) -> list[dict[str, Any]]:
    return [view(row, work.db.get(LedgerAccount, row.ledger_id))
            for row in _active(work, user_id)]


def _paid_by_hand_today(work: Work, ledger_id: int) -> bool:
    start = datetime.combine(work.now.date(), time(0), tzinfo=timezone.utc)
    return work.db.scalar(select(Payment.id).join(PaymentItem).where(
        PaymentItem.ledger_id == ledger_id, Payment.source != "autopay",
        Payment.status.in_(("created", "requires_action", "pending", "succeeded")),
        Payment.created_at >= start).limit(1)) is not None


def run(work: Work, checkout: Checkout, statement: Statement) -> int:
    """Pay the bills coming due within a few days for every active automatic payment."""
    db, today, made = work.db, work.now.date(), 0
    for row in list(db.scalars(select(AutoPay).where(AutoPay.cancelled_at.is_(None)))):
        account = db.get(LedgerAccount, row.ledger_id)
        open_periods = {p["period"]: Decimal(p["open"]) for p in statement.of(account)["periods"]}
        for charge in list(db.scalars(select(Charge).where(
                Charge.ledger_id == row.ledger_id,
                Charge.due_date <= today + timedelta(days=DAYS_BEFORE_DUE),
                Charge.due_date >= today - timedelta(days=DAYS_BEFORE_DUE)))):
            if db.get(AutoPayRun, charge.id) is not None:
                continue
            due = open_periods.get(charge.period, Decimal("0"))
            skipped = ("already paid" if due <= 0 else
                       "paid by hand today" if _paid_by_hand_today(work, row.ledger_id) else None)
            db.add(AutoPayRun(charge_id=charge.id, autopay_id=row.id, skipped=skipped,
                              ran_at=work.now))
            db.commit()  # recorded before the card is charged: a second run finds it
            if skipped:
                continue
            customer = db.scalar(select(Customer.customer_ref).where(
                Customer.user_id == row.user_id, Customer.provider == checkout.provider.name))
            payment = checkout.create(row.user_id, f"autopay-{charge.id}",
                                      [(account, "electricity", due, charge.period)],
                                      source="autopay", customer_ref=customer,
                                      saved_card_ref=row.card_ref,
                                      receipt_contact=checkout.last_contact(row.user_id))
            db.get(AutoPayRun, charge.id).payment_id = payment.id
            db.commit()
            made += 1
    return made

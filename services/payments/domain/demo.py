"""The demo account's ledger (``shared/demo.py``), written by this service's own code: the
readings the accrual counts from, a bill for each of the twelve months ending last month
priced by the tariffs as the built-in accrual prices it, and the payments of all but the last
bills.

There is no way in for a payment not made by card (billing publishes no payments), and the
ledger counts only payments with items. So the paid bills are recorded as what the portal
would have recorded for them: a succeeded card payment (source ``card``) with one electricity
item for the period, of no portal user (``user_id`` empty: nobody's own payment, so nobody can
open or refund it as theirs) and of provider ``demo`` (no provider knows it; the
reconciliation asks only the configured provider). No event is published: billing has not
been paid, and nobody gets a «payment received» notice for a story.

Idempotent: what is there already is left alone (a bill is not re-posted).
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from services.payments.domain import calendar, tariffs
from services.payments.domain.accrual import _consumption, reading_submitted
from services.payments.domain.ledger import ensure_account, post_charge
from services.payments.models import (AutoPayRun, Charge, LedgerAccount, MeterReading, Payment,
                                      PaymentItem, Refund)
from shared import demo
from shared.errors import NotFound
from shared.work import Work

PROVIDER = "demo"
NAMESPACE = uuid.UUID("9b1c3a52-5d0e-4c55-9a57-0c1e8d6f2a10")  # the demo payments' ids


def _tariff(table: tuple[tariffs.Tariff, ...], category: str, day: date) -> tariffs.Tariff:
    """The tariff in force, or the oldest one listed for a month before the table starts."""
    try:
        return tariffs.tariff_on(table, category, day)
    except NotFound:
        return min((t for t in table if t.category == category), key=lambda t: t.valid_from)


def load(work: Work, account: dict[str, Any], tariffs_file: str = "") -> dict[str, int]:
    """Write what is missing of the story for ``account`` (the accounts demo command's JSON).
    Counts of what was written."""
    db, today = work.db, work.now.date()
    ledger = ensure_account(db, account["number"], account["branch"], account["account_id"],
                            account.get("tariff_category"))
    serial = account["meters"][0]["serial"]
    made = {"readings": 0, "charges": 0, "payments": 0}
    for step in demo.readings(today):  # as readings' reading_submitted events bring them
        row = db.scalar(select(MeterReading).where(
            MeterReading.ledger_id == ledger.id, MeterReading.serial == serial,
            MeterReading.period == step.period))
        if row is None or row.values != [step.value]:
            reading_submitted(work, {"number": ledger.number, "branch": ledger.branch,
                                     "account_id": ledger.account_id, "meter_serial": serial,
                                     "period": step.period, "values": [step.value],
                                     "rolled_over": False, "submitted_at": step.taken_at})
            made["readings"] += 1
    db.flush()
    table = tariffs.load(tariffs_file)
    values = {step.period: [step.value] for step in demo.readings(today)}
    charges: dict[str, Charge] = {}
    for period in demo.charged_periods(today):  # what the accrual charges at each month's end
        used = _consumption(values[demo.shift(period, -1)], values[period], False)
        first_day = date.fromisoformat(period + "-01")
        price = tariffs.charge_for(_tariff(table, ledger.tariff_category, first_day), used,
                                   first_day.month)
        charge = db.scalar(select(Charge).where(Charge.ledger_id == ledger.id,
                                                Charge.period == period,
                                                Charge.source == "accrual"))
        if charge is None or charge.amount != Decimal(price["amount"]):
            last_day = date.fromisoformat(demo.shift(period, 1) + "-01") - timedelta(days=1)
            charge = post_charge(work, {"number": ledger.number, "branch": ledger.branch,
                                        "period": period, "amount": price["amount"],
                                        "due_date": calendar.due_date(period),
                                        "lines": price["lines"]}, "accrual")
            charge.posted_at = demo.at(last_day + timedelta(days=1), 3)  # the night after
            made["charges"] += 1
        charges[period] = charge
    for paid in demo.payments(today):
        payment_id = str(uuid.uuid5(NAMESPACE, f"{ledger.number}:{ledger.branch}:{paid.period}"))
        if db.get(Payment, payment_id) is not None:
            continue
        amount = charges[paid.period].amount
        created = paid.paid_at - timedelta(minutes=2)
        payment = Payment(id=payment_id, user_id=None, idempotency_key=f"demo-{paid.period}",
                          amount=amount, refunded=Decimal("0"), status="succeeded",
                          source="card", provider=PROVIDER, save_card=False,
                          created_at=created, updated_at=paid.paid_at, paid_at=paid.paid_at)
        payment.items = [PaymentItem(ledger_id=ledger.id, kind="electricity",
                                     period=paid.period, amount=amount)]
        db.add(payment)
        made["payments"] += 1
    db.commit()
    return made


def reset(work: Work, account: dict[str, Any]) -> int:
    """Remove the account's charges, the readings the accrual keeps, and every payment with
    an item on it (a customer's own card payments too, with their refunds); the account, its
    links and automatic payments stay. The number of payments removed."""
    db = work.db
    ledger = db.scalar(select(LedgerAccount).where(LedgerAccount.number == account["number"],
                                                   LedgerAccount.branch == account["branch"]))
    if ledger is None:
        return 0
    payment_ids = list(db.scalars(select(PaymentItem.payment_id)
                                  .where(PaymentItem.ledger_id == ledger.id).distinct()))
    if payment_ids:
        db.execute(delete(Refund).where(Refund.payment_id.in_(payment_ids)))
        db.execute(delete(PaymentItem).where(PaymentItem.payment_id.in_(payment_ids)))
        db.execute(delete(Payment).where(Payment.id.in_(payment_ids)))
    charge_ids = select(Charge.id).where(Charge.ledger_id == ledger.id)
    db.execute(delete(AutoPayRun).where(AutoPayRun.charge_id.in_(charge_ids)))
    db.execute(delete(Charge).where(Charge.ledger_id == ledger.id))
    db.execute(delete(MeterReading).where(MeterReading.ledger_id == ledger.id))
    db.commit()
    return len(payment_ids)

"""The ledger of an account: charges by period, what was paid, the debt, the penalties.

Charges come from billing (``billing.charge_posted``) or the built-in accrual; payments are
the succeeded card payments' items. Electricity payments go to the period they name, or to
the oldest open period; penalty payments only reduce the penalties. The penalty arithmetic is
the pure module :mod:`services.payments.domain.penalties`.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import select

from services.payments.domain import calendar, penalties
from services.payments.domain.key_rates import KeyRateTable
from services.payments.models import Charge, LedgerAccount, Payment, PaymentItem
from shared.errors import NotFound
from shared.db import insert_if_absent
from shared.work import Work

ZERO = Decimal("0.00")
RULES = lru_cache(maxsize=1)(penalties.load_rules)  # the decrees: data read once
PAID = ("succeeded", "refunded", "partially_refunded")


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def find_account(db: Any, number: str, branch: str) -> LedgerAccount | None:
    return db.scalar(select(LedgerAccount).where(LedgerAccount.number == number,
                                                 LedgerAccount.branch == branch))


def ensure_account(db: Any, number: str, branch: str, account_id: int | None = None,
                   category: str | None = None) -> LedgerAccount:
    """The ledger's account for a number in a branch, made on first sight; the portal id and
    the tariff category are filled in whenever they are learnt."""
    account = find_account(db, number, branch)
    if account is None:  # two bills of a new account may arrive at once: no duplicate row
        insert_if_absent(db, LedgerAccount, number=number, branch=branch,
                         tariff_category="urban")
        account = find_account(db, number, branch)
    if account_id is not None and account.account_id != account_id:
        account.account_id = account_id
    if category:
        account.tariff_category = category
    db.flush()
    return account


def post_charge(work: Work, payload: dict[str, Any], source: str) -> Charge:
    """A bill for a period: a new one, or the latest amount replacing the earlier one."""
    db = work.db
    account = ensure_account(db, payload["number"], payload["branch"])
    due = payload.get("due_date") or calendar.due_date(payload["period"])
    charge = db.scalar(select(Charge).where(Charge.ledger_id == account.id,
                                            Charge.period == payload["period"],
                                            Charge.source == source))
    if charge is None:
        charge = Charge(ledger_id=account.id, period=payload["period"], source=source)
        db.add(charge)
    charge.amount = Decimal(payload["amount"])
    charge.due_date = due
    charge.lines = payload.get("lines") or []
    charge.posted_at = work.now
    db.flush()
    return charge


def paid_items(db: Any, ledger_ids: Iterable[int]) -> list[tuple[PaymentItem, Payment]]:
    """The items of confirmed payments (a refund is recorded on the payment, see below)."""
    return list(db.execute(select(PaymentItem, Payment).join(Payment).where(
        PaymentItem.ledger_id.in_(list(ledger_ids)), Payment.status.in_(PAID))
        .order_by(Payment.paid_at, PaymentItem.id)).tuples())


class Statement:
    """An account's position on a day: open periods, debt, penalties and what to pay."""

    def __init__(self, work: Work, rates: KeyRateTable) -> None:
        self.work = work
        self.rates = rates
        # Whose day chooses the decree's rate rule (PENALTY_DECREE_RULE; see penalties).
        self.by = work.config.get("PENALTY_DECREE_RULE") or "payment_day"

    def charges(self, account: LedgerAccount) -> dict[str, Charge]:
        """The charge of each period: billing's bill wins over the built-in accrual when
        both sources charged it."""
        by_period: dict[str, Charge] = {}
        for charge in self.work.db.scalars(select(Charge).where(Charge.ledger_id == account.id)):
            if charge.period not in by_period or charge.source == "billing":
                by_period[charge.period] = charge
        return by_period

    def _inputs(self, account: LedgerAccount) -> tuple[list[penalties.Charge],
                                                        list[penalties.Payment], Decimal]:
        db = self.work.db
        by_period = self.charges(account)
        owed = [penalties.Charge(period=c.period, amount=c.amount, due=c.due_date)
                for c in sorted(by_period.values(), key=lambda c: (c.due_date, c.period))]
        paid, penalty_paid = [], ZERO
        for item, payment in paid_items(db, [account.id]):
            # A refund gives back money from the electricity part first.
            share = item.amount
            if payment.refunded and payment.amount:
                share = item.amount - (item.amount * payment.refunded / payment.amount)
                share = share.quantize(Decimal("0.01"))
            if item.kind == "penalty":
                penalty_paid += share
            elif share > 0:
                paid.append(penalties.Payment(paid_on=payment.paid_at.date(), amount=share,
                                              period=item.period))
        return owed, paid, penalty_paid

    def of(self, account: LedgerAccount, on: date | None = None) -> dict[str, Any]:
        """The account's statement on ``on`` (today by default)."""
        on = on or self.work.now.date()
        owed, paid, penalty_paid = self._inputs(account)
        # compute() allocates the payments too
        result = penalties.compute(owed, paid, on, self.rates, RULES(), self.by)
        periods = []
        for charge in result.charges:
            left = charge.outstanding
            periods.append({"period": charge.period, "amount": money(charge.amount),
                            "due_date": charge.due_date.isoformat(),
                            "paid": money(charge.amount - left), "open": money(left),
                            "days_overdue": max(0, (on - charge.due_date).days) if left else 0})
        debt, accrued = result.debt, result.total
        penalty_due = max(ZERO, accrued - penalty_paid)
        return {"number": account.number, "branch": account.branch,
                "account_id": account.account_id, "on": on.isoformat(),
                "tariff_category": account.tariff_category,
                "debt": money(debt), "advance": money(result.credit),
                "penalties_accrued": money(accrued), "penalties_paid": money(penalty_paid),
                "penalties": money(penalty_due), "to_pay": money(debt + penalty_due),
                "periods": periods}

    def bill(self, account: LedgerAccount, period: str) -> dict[str, Any]:
        """What the bill for ``period`` prints, as of today: the debt at the start of the
        period, the period's charge and its lines, what was paid since, penalties, and the
        total to pay for this and earlier periods (less any advance). Never less than 0 to pay.

        The debt at the start is what was true on the period's first day: the charges of
        earlier periods less every payment made before that day (negative: overpaid), leaving
        out what of those payments went to a later bill. A later payment never moves it,
        whichever period it was credited to; it is in ``paid``: what the payments since the
        first day brought to this and earlier periods (and to the advance), so that debt at
        the start + charged + penalties − paid = the total."""
        charge = self.charges(account).get(period)
        if charge is None:
            raise NotFound("За этот период нет начислений", {"period": "no charge for this period"})
        position = self.of(account)
        owed = sum((Decimal(p["open"]) for p in position["periods"] if p["period"] <= period),
                   ZERO)
        penalty = Decimal(position["penalties"])
        total = owed + penalty - Decimal(position["advance"])
        opening = self._opening(account, period, date.fromisoformat(position["on"]))
        return {"number": account.number, "branch": account.branch, "period": period,
                "on": position["on"], "charged": money(charge.amount), "lines": charge.lines,
                "debt_at_start": money(opening),
                "paid": money(opening + charge.amount + penalty - total),
                "penalties": money(penalty), "total_due": money(max(total, ZERO)),
                "due_date": charge.due_date.isoformat(), "source": charge.source}

    def _opening(self, account: LedgerAccount, period: str, on: date) -> Decimal:
        """The balance on the first day of ``period``: earlier periods' charges less the
        payments made before that day, except their parts credited to later periods."""
        start = date(*calendar.parse_period(period), 1)
        owed, paid, _ = self._inputs(account)
        paid = [p for p in paid if p.paid_on <= on]
        allocation = penalties.allocate(owed, paid, RULES())
        earlier = sum((c.amount for c in owed if c.period < period), ZERO)
        before = sum((p.amount for p in paid if p.paid_on < start), ZERO)
        ahead = sum((part.amount for later, parts in allocation.parts.items() if later > period
                     for part in parts if part.paid_on < start), ZERO)
        return earlier - before + ahead

    def billed_periods(self, account: LedgerAccount) -> list[dict[str, Any]]:
        """The periods with a charge, newest first (the list of bills)."""
        return [{"period": c.period, "amount": money(c.amount), "due_date": c.due_date.isoformat()}
                for c in sorted(self.charges(account).values(), key=lambda c: c.period,
                                reverse=True)]

    def penalty_details(self, account: LedgerAccount, pay_on: date) -> dict[str, Any]:
        """How the penalty is computed, per overdue charge, if the debt is paid on ``pay_on``."""
        owed, paid, penalty_paid = self._inputs(account)
        result = penalties.compute_if_paid_on(owed, paid, pay_on, self.rates, RULES(), self.by)
        explained = penalties.explain(result)  # each line names the decree that set its rate
        return {"number": account.number, "branch": account.branch, "pay_on": pay_on.isoformat(),
                "penalties_paid": money(penalty_paid), **explained}

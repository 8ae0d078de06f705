"""The penalty (пени) for late payment of a household utility bill, ЖК РФ ст. 155 ч. 14.

Pure code: no framework, no database. The ledger gives charges and payments and gets back a
:class:`PenaltyResult` that can be shown to the customer line by line.

The rules, as applied here:

* Day 1 is the day after the due date. Days 1–30 accrue nothing; days 31–90 accrue
  base × rate × 1/300 a day; from day 91, base × rate × 1/130 a day.
* The base of a day is what is still unpaid of the charge at the start of that day: a payment
  stops the accrual on its amount after the day of payment (the day of payment itself accrues).
* Which rate. The law takes "the key rate in force on the day of actual payment", and a debt
  paid in parts is paid on several days, so the base is split into portions by the day each
  portion was paid (the allocation below says which payment paid which part of which charge);
  what is still unpaid is taken as paid on the calculation date ``until``. A portion paid on P
  is charged, for an accrual day D, by the decree's rule in force on

  - P, the day of payment (``payment_day``, the default): the decrees say how penalties are
    computed and paid during their term, with the key rate "on the day of actual payment";
    the public calculators and most courts take the rule of P for every day of the debt,
    days before 28.02.2022 included;
  - or D, the accrual day (``accrual_day``: ПП №474 applies "to relations from 28.02.2022"),
    the other reading, behind the PENALTY_DECREE_RULE setting.

  The rules: flat (28.02.2022–22.09.2022, ПП №474): 9.5 %; capped (23.09.2022–31.12.2026,
  ПП №474 as amended): min(9.5 %, key rate on P); none (before 28.02.2022, from 01.01.2027):
  the key rate on P. On the worked example with real key rates (1000.00 for May 2019, 100.00
  paid 01.01.2020, through 18.04.2024) the payment-day reading gives 832.18, the accrual-day
  one 1128.28 (the days before 2022 at the uncapped 16 % of 18.04.2024).

  Portions with the same rate and rule over the same days are shown as one line, so a debt
  paid in one go shows one line per day range, with the whole balance as the base.
* Moratoria: the days of a moratorium accrue nothing, but still count as days overdue (the debt
  stays overdue; the decrees suspend the penalty, not the delay): a debt 300 days overdue on
  the first day after a moratorium accrues at 1/130 from that day. The worked example of
  DESIGN.md passes day 91 before any moratorium, so it cannot tell; its source calculator
  counts the same way. ПП №424 covers every debt; ПП №497 only obligations that arose before
  01.04.2022, taken as bills for periods before April 2022 (the service was supplied then).
* Rounding: amounts are kept exact (a common denominator of 1/300 and 1/130) and rounded to the
  kopeck, ROUND_HALF_UP, once per charge (its total). The line amounts are rounded one by one
  for display, so they may differ from the charge's total by a kopeck. The grand total is the
  sum of the charges' totals, each a kopeck amount the bill can show.

Supported accrual days start on 01.01.2016, when these rules (ФЗ №307-ФЗ) came into force.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from services.payments.domain import calendar
from services.payments.domain.calendar import RULES_PATH, DueDayRule
from services.payments.domain.key_rates import KeyRateTable, load_key_rates

ZERO = Decimal("0.00")
KOPECK = Decimal("0.01")
GRACE_DAYS = 30  # days 1..30 accrue nothing
FIRST_FRACTION_DAYS = 90  # days 31..90 at 1/300, then 1/130
REGIME_START = date(2016, 1, 1)  # ФЗ №307-ФЗ от 03.11.2015
# Whose day chooses the decree's rule: the day of payment (default) or the accrual day.
DecreeRule = Literal["payment_day", "accrual_day"]
DECREE_RULES: tuple[DecreeRule, ...] = ("payment_day", "accrual_day")
# 3900 = lcm(300, 130); with percent, 1/300 of rate% = 13 / 390000 and 1/130 = 30 / 390000.
# base × rate × 13 or 30 × days stays far below Decimal's 28 digits for any bill: exact.
_DENOMINATOR = Decimal(390000)
_FRACTIONS = {300: ("1/300", 13), 130: ("1/130", 30)}


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateRule:
    """A decree's rate for accrual days ``date_from``..``date_to``.

    ``flat``: ``rate`` whatever the key rate; ``capped``: the key rate on the day of payment,
    but not above ``rate``.
    """

    date_from: date
    date_to: date
    kind: Literal["flat", "capped"]
    rate: Decimal
    decree: str


@dataclass(frozen=True, slots=True)
class Moratorium:
    """Days ``date_from``..``date_to`` accrue no penalty (for bills for periods before
    ``periods_before``, when set)."""

    date_from: date
    date_to: date
    decree: str
    periods_before: str | None = None

    def applies_to(self, period: str) -> bool:
        """Tell whether the moratorium covers the bill for ``period`` (``YYYY-MM``)."""
        return self.periods_before is None or period < self.periods_before


@dataclass(frozen=True, slots=True)
class PenaltyRules:
    """The decrees in force over time: rate rules, moratoria, due days."""

    rate_rules: tuple[RateRule, ...]
    moratoria: tuple[Moratorium, ...]
    due_days: tuple[DueDayRule, ...]

    def __post_init__(self) -> None:
        for spans in (self.rate_rules, self.moratoria):
            for item in spans:
                if item.date_from > item.date_to:
                    raise ValueError(f"{item.decree}: the rule ends before it starts")
            if any(a.date_to >= b.date_from for a, b in zip(spans, spans[1:])):
                raise ValueError("rules of one kind must be in date order and must not overlap")
        for rule in self.rate_rules:
            if rule.kind not in ("flat", "capped"):
                raise ValueError(f"{rule.decree}: unknown rate rule kind {rule.kind!r}")


def _day(text: str) -> date:
    return date.fromisoformat(text)


def rules_from_dict(data: Mapping[str, Any]) -> PenaltyRules:
    """Build the rules from their JSON form (see ``reference/penalty_rules.json``)."""
    return PenaltyRules(
        rate_rules=tuple(
            RateRule(_day(r["from"]), _day(r["to"]), r["kind"], Decimal(r["rate"]), r["decree"])
            for r in data["rate_rules"]
        ),
        moratoria=tuple(
            Moratorium(_day(m["from"]), _day(m["to"]), m["decree"], m.get("periods_before"))
            for m in data["moratoria"]
        ),
        due_days=calendar._due_day_rules_from(data),
    )


@lru_cache(maxsize=8)
def load_rules(path: Path = RULES_PATH) -> PenaltyRules:
    """Load the penalty rules from the rules file (parsed once per path)."""
    with Path(path).open(encoding="utf-8") as f:
        return rules_from_dict(json.load(f))


# --- rates -------------------------------------------------------------------------------


class RateSource(Protocol):
    """Where the annual rate (percent) of an accrual day comes from."""

    def changes(self) -> Iterable[date]:
        """Accrual days on which the rate may change (whatever the day of payment)."""
        ...

    def rate(self, day: date, paid_on: date) -> tuple[Decimal, RateRule | None]:
        """The rate for accrual day ``day`` of a portion of debt paid on ``paid_on``, and the
        decree's rule that set it (None: the plain key rate, or a rate of one's own)."""
        ...


@dataclass(frozen=True, slots=True)
class FixedRate:
    """One rate for every day (worked examples, what-if figures)."""

    percent: Decimal

    def changes(self) -> Iterable[date]:
        """A fixed rate never changes."""
        return ()

    def rate(self, day: date, paid_on: date) -> tuple[Decimal, RateRule | None]:
        """Return the fixed rate."""
        return self.percent, None


@dataclass(frozen=True)
class DecreeRate:
    """The key rate on the day of payment, as modified by the decree's rule in force on the day
    of payment (``by="payment_day"``, the default) or on the accrual day (``"accrual_day"``)."""

    key_rates: KeyRateTable
    rules: PenaltyRules
    by: DecreeRule = "payment_day"
    _starts: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.by not in DECREE_RULES:
            raise ValueError(f"unknown decree rule {self.by!r}: one of {', '.join(DECREE_RULES)}")
        object.__setattr__(self, "_starts", tuple(r.date_from for r in self.rules.rate_rules))

    def changes(self) -> Iterable[date]:
        """By the accrual day: the first and the day after the last day of each decree's rule.
        By the day of payment the rate of a portion is the same on all its days."""
        if self.by == "payment_day":
            return
        for rule in self.rules.rate_rules:
            yield rule.date_from
            yield rule.date_to + timedelta(days=1)

    def rule_on(self, day: date) -> RateRule | None:
        """The decree's rate rule in force on ``day``, if any."""
        i = bisect.bisect_right(self._starts, day) - 1
        return self.rules.rate_rules[i] if i >= 0 and day <= self.rules.rate_rules[i].date_to else None

    def rate(self, day: date, paid_on: date) -> tuple[Decimal, RateRule | None]:
        """Return the rate for accrual day ``day`` of a portion paid on ``paid_on``."""
        rule = self.rule_on(paid_on if self.by == "payment_day" else day)
        if rule is not None and rule.kind == "flat":
            return rule.rate, rule
        key = self.key_rates.rate_on(paid_on)
        return (min(key, rule.rate), rule) if rule is not None else (key, None)


# --- inputs and allocation ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Charge:
    """A bill for a billing period (``YYYY-MM``); ``due`` defaults to the legal due date."""

    period: str
    amount: Decimal
    due: date | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """Money paid toward the debt on ``paid_on``, for ``period`` if the payer named one."""

    paid_on: date
    amount: Decimal
    period: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentPart:
    """The part of a payment (made on ``paid_on``) credited to one charge."""

    paid_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    """Which payments paid which charges.

    ``parts``: per period, the payment parts credited to it in date order; ``outstanding``: per
    period, what is still unpaid; ``credit``: paid beyond all the debt (an advance).
    """

    parts: Mapping[str, tuple[PaymentPart, ...]]
    outstanding: Mapping[str, Decimal]
    credit: Decimal


def _money(value: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{what} must be a finite Decimal, got {value!r}")
    if value != value.quantize(KOPECK):
        raise ValueError(f"{what} must be whole kopecks, got {value}")
    return value


def _due_dates(charges: Sequence[Charge], rules: PenaltyRules | None) -> dict[str, date]:
    due: dict[str, date] = {}
    due_rules = rules.due_days if rules is not None else None
    for charge in charges:
        calendar.parse_period(charge.period)
        if charge.period in due:
            raise ValueError(f"two charges for period {charge.period}: give one charge per period")
        if _money(charge.amount, f"the charge for {charge.period}") < 0:
            raise ValueError(f"the charge for {charge.period} is negative")
        due[charge.period] = charge.due or calendar.due_date(charge.period, rules=due_rules)
    return due


def allocate(charges: Sequence[Charge], payments: Sequence[Payment], rules: PenaltyRules | None = None) -> Allocation:
    """Credit payments to charges, in the order the payments were made.

    A payment naming a billed period goes to that period first; the rest of it, and a payment
    naming nothing (or a period with no charge), goes to the oldest open period (earliest due
    date first), carrying on to the next. Whatever is left when all is paid is ``credit``.
    """
    return _allocate(charges, payments, _due_dates(charges, rules))


def _allocate(charges: Sequence[Charge], payments: Sequence[Payment], due: Mapping[str, date]) -> Allocation:
    order = sorted(due, key=lambda period: (due[period], period))
    open_ = {charge.period: charge.amount for charge in charges}
    parts: dict[str, list[PaymentPart]] = {period: [] for period in order}
    credit = ZERO
    oldest = 0  # open_ only decreases, so the oldest open period only moves forward
    for payment in sorted(payments, key=lambda p: p.paid_on):
        left = _money(payment.amount, f"the payment of {payment.paid_on}")
        if left <= 0:
            raise ValueError(f"the payment of {payment.paid_on} is not positive")
        targets: list[str] = []
        if payment.period is not None and payment.period in open_:
            targets.append(payment.period)
        while oldest < len(order) and open_[order[oldest]] == 0:
            oldest += 1
        targets.extend(order[oldest:])
        for period in targets:
            take = min(left, open_[period])
            if take > 0:
                open_[period] -= take
                parts[period].append(PaymentPart(payment.paid_on, take))
                left -= take
                if left == 0:
                    break
        credit += left
    return Allocation(
        parts={period: tuple(items) for period, items in parts.items()},
        outstanding=open_,
        credit=credit,
    )


# --- result ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PenaltyLine:
    """Days ``date_from``..``date_to`` of one charge at one fraction, rate and base."""

    date_from: date
    date_to: date
    days: int
    fraction: str  # "1/300" or "1/130"
    rate: Decimal  # percent per annum
    base: Decimal  # the unpaid amount the penalty is taken on
    amount: Decimal  # rounded to kopecks, for display
    rule: RateRule | None = None  # the decree's rule that set the rate (None: the key rate)


@dataclass(frozen=True, slots=True)
class ExcludedDays:
    """Overdue days on which no penalty accrued, and the decree that says so."""

    date_from: date
    date_to: date
    days: int
    decree: str


@dataclass(frozen=True, slots=True)
class ChargePenalty:
    """The penalty on one charge up to the calculation date."""

    period: str
    due_date: date
    amount: Decimal  # the charge
    outstanding: Decimal  # still unpaid on the calculation date
    accrues_from: date  # day 31: the first day that can accrue
    lines: tuple[PenaltyLine, ...]
    excluded: tuple[ExcludedDays, ...]
    total: Decimal  # rounded to kopecks


@dataclass(frozen=True, slots=True)
class PenaltyResult:
    """The penalties of an account through ``until`` (inclusive)."""

    until: date
    charges: tuple[ChargePenalty, ...]
    debt: Decimal  # all outstanding charges on ``until``
    credit: Decimal  # paid beyond all the debt
    total: Decimal  # sum of the charges' totals
    decree_rule: DecreeRule | None = None  # whose day chose the decree (None: a rate of one's own)


# --- computation -------------------------------------------------------------------------


def _rate_source(rates: KeyRateTable | RateSource | None, rules: PenaltyRules,
                 by: DecreeRule) -> RateSource:
    if isinstance(rates, KeyRateTable):
        return DecreeRate(rates, rules, by)
    if rates is None:
        return DecreeRate(load_key_rates(), rules, by)
    return rates


def compute(
    charges: Sequence[Charge],
    payments: Sequence[Payment],
    until: date,
    rates: KeyRateTable | RateSource | None = None,
    rules: PenaltyRules | None = None,
    by: DecreeRule = "payment_day",
) -> PenaltyResult:
    """Compute the penalty on every charge through ``until`` (inclusive).

    Payments after ``until`` are ignored. ``rates`` is the key rate table (the decrees in
    ``rules`` apply to it, chosen by the day of payment or, ``by="accrual_day"``, by the
    accrual day), or a rate source of one's own, such as :class:`FixedRate`; by default the
    shipped table and rules.
    """
    if rules is None:
        rules = load_rules()
    source = _rate_source(rates, rules, by)
    due = _due_dates(charges, rules)
    allocation = _allocate(charges, [p for p in payments if p.paid_on <= until], due)
    changes = sorted({day.toordinal() for day in source.changes()})
    results = tuple(
        _charge_penalty(
            charge,
            due[charge.period],
            allocation.parts[charge.period],
            allocation.outstanding[charge.period],
            until,
            source,
            changes,
            [m for m in rules.moratoria if m.applies_to(charge.period)],
        )
        for charge in sorted(charges, key=lambda c: (due[c.period], c.period))
    )
    return PenaltyResult(
        until=until,
        charges=results,
        debt=sum(allocation.outstanding.values(), ZERO),
        credit=allocation.credit,
        total=sum((r.total for r in results), ZERO),
        decree_rule=source.by if isinstance(source, DecreeRate) else None,
    )


def compute_if_paid_on(
    charges: Sequence[Charge],
    payments: Sequence[Payment],
    pay_on: date,
    rates: KeyRateTable | RateSource | None = None,
    rules: PenaltyRules | None = None,
    by: DecreeRule = "payment_day",
) -> PenaltyResult:
    """The penalty to pay if all the debt is paid on ``pay_on``.

    The same as :func:`compute` through ``pay_on``: what is unpaid there is already taken as
    paid on the calculation date (day accrued, rate of that day). ``debt`` is what to pay
    besides the penalty.
    """
    return compute(charges, payments, pay_on, rates, rules, by)


def _round(exact: Decimal) -> Decimal:
    return (exact / _DENOMINATOR).quantize(KOPECK, rounding=ROUND_HALF_UP)


def _charge_penalty(
    charge: Charge,
    due: date,
    parts: Sequence[PaymentPart],
    outstanding: Decimal,
    until: date,
    source: RateSource,
    changes: list[int],
    moratoria: list[Moratorium],
) -> ChargePenalty:
    if due + timedelta(days=1) < REGIME_START:
        raise ValueError(f"the charge for {charge.period} was due before 2016: other penalty rules apply")
    accrues_from = due + timedelta(days=GRACE_DAYS + 1)
    start, end = accrues_from.toordinal(), until.toordinal()
    # Portions of the base, as (ordinal of the day paid, the day, amount): a portion accrues
    # through the day it was paid. What is unpaid counts as paid on the calculation date.
    portions = [(p.paid_on.toordinal(), p.paid_on, p.amount) for p in parts if p.paid_on.toordinal() >= start]
    if outstanding > 0:
        portions.append((end, until, outstanding))
    # Lines as [first day, last day (ordinals), fraction, rate, base, exact amount × 390000,
    # the decree's rule].
    rows: list[list[Any]] = []
    excluded: list[ExcludedDays] = []
    if start <= end and portions:
        switch = start + FIRST_FRACTION_DAYS - GRACE_DAYS  # day 91
        cuts = {start, switch, end + 1}
        cuts.update(portion[0] + 1 for portion in portions)
        for m in moratoria:
            cuts.update((m.date_from.toordinal(), m.date_to.toordinal() + 1))
        cuts.update(changes[bisect.bisect_right(changes, start) : bisect.bisect_right(changes, end)])
        bounds = sorted(c for c in cuts if start <= c <= end + 1)
        first = 0  # portions[first:] are unpaid on the current day
        previous: dict[tuple[int, Decimal, RateRule | None, Decimal], list[Any]] = {}
        for a, b in zip(bounds, bounds[1:]):
            while first < len(portions) and portions[first][0] < a:
                first += 1
            if first == len(portions):
                break
            day_a = date.fromordinal(a)
            moratorium = next((m for m in moratoria if m.date_from <= day_a <= m.date_to), None)
            if moratorium is not None:
                last = excluded[-1] if excluded else None
                if last is not None and last.decree == moratorium.decree and last.date_to.toordinal() == a - 1:
                    excluded[-1] = ExcludedDays(last.date_from, date.fromordinal(b - 1), last.days + b - a, last.decree)
                else:
                    excluded.append(ExcludedDays(day_a, date.fromordinal(b - 1), b - a, moratorium.decree))
                continue
            fraction = 300 if a < switch else 130
            factor = _FRACTIONS[fraction][1] * (b - a)
            bases: dict[tuple[Decimal, RateRule | None], Decimal] = {}
            for _, paid_on, amount in portions[first:]:
                rated = source.rate(day_a, paid_on)
                bases[rated] = bases.get(rated, ZERO) + amount
            current: dict[tuple[int, Decimal, RateRule | None, Decimal], list[Any]] = {}
            for (rate, rule), base in bases.items():
                key = (fraction, rate, rule, base)
                row = previous.get(key)
                if row is not None and row[1] == a - 1:
                    # The same fraction, rate, rule and base as the day before: one line.
                    row[1] = b - 1
                    row[5] += base * rate * factor
                else:
                    row = [a, b - 1, fraction, rate, base, base * rate * factor, rule]
                    rows.append(row)
                current[key] = row
            previous = current
    lines = tuple(
        PenaltyLine(
            date_from=date.fromordinal(a),
            date_to=date.fromordinal(z),
            days=z - a + 1,
            fraction=_FRACTIONS[fraction][0],
            rate=rate.quantize(KOPECK),
            base=base,
            amount=_round(exact),
            rule=rule,
        )
        for a, z, fraction, rate, base, exact, rule in rows
    )
    return ChargePenalty(
        period=charge.period,
        due_date=due,
        amount=charge.amount,
        outstanding=outstanding,
        accrues_from=accrues_from,
        lines=lines,
        excluded=tuple(excluded),
        total=_round(sum((row[5] for row in rows), Decimal(0))),
    )


# --- presentation ------------------------------------------------------------------------


_NO_RULE = {"kind": "key_rate", "cap": None, "decree": None, "date_from": None, "date_to": None}
# What the customer reads about the reading used (see the module's docstring).
DECREE_RULE_NOTES: dict[str, str] = {
    "payment_day": "Постановление Правительства РФ, ограничивающее ставку, выбрано по дню оплаты "
                   "и применено ко всем дням просрочки.",
    "accrual_day": "Постановление Правительства РФ, ограничивающее ставку, выбрано по каждому "
                   "дню начисления пени.",
}


def regime(rule: RateRule | None) -> dict[str, Any]:
    """A rate rule for telling the customer: ``flat`` (the decree's rate whatever the key
    rate), ``capped`` (the key rate on the day of payment, but not above ``cap``) or
    ``key_rate`` (no decree: the key rate on the day of payment)."""
    if rule is None:
        return dict(_NO_RULE)
    return {"kind": rule.kind, "cap": _text(rule.rate), "decree": rule.decree,
            "date_from": rule.date_from.isoformat(), "date_to": rule.date_to.isoformat()}


def regime_on(rules: PenaltyRules, day: date) -> dict[str, Any]:
    """Which rate rule is in force on ``day`` (see :func:`regime`)."""
    return regime(next((r for r in rules.rate_rules if r.date_from <= day <= r.date_to), None))


def _text(value: Decimal) -> str:
    return f"{value.quantize(KOPECK)}"


def explain(result: PenaltyResult) -> dict[str, Any]:
    """The result as JSON-ready data for the customer (money and rates as strings, ISO dates).

    Charges that accrued nothing and had no excluded days are left out. ``decree_rule`` says
    whose day chose the decree's rule (``payment_day`` or ``accrual_day``; None for a rate of
    one's own), and each line's ``regime`` the rule that set its rate.
    """
    return {
        "until": result.until.isoformat(),
        "decree_rule": result.decree_rule,
        "decree_rule_note": DECREE_RULE_NOTES.get(result.decree_rule or ""),
        "debt": _text(result.debt),
        "credit": _text(result.credit),
        "total": _text(result.total),
        "charges": [
            {
                "period": c.period,
                "due_date": c.due_date.isoformat(),
                "amount": _text(c.amount),
                "outstanding": _text(c.outstanding),
                "accrues_from": c.accrues_from.isoformat(),
                "total": _text(c.total),
                "lines": [
                    {
                        "date_from": line.date_from.isoformat(),
                        "date_to": line.date_to.isoformat(),
                        "days": line.days,
                        "fraction": line.fraction,
                        "rate": _text(line.rate),
                        "base": _text(line.base),
                        "amount": _text(line.amount),
                        "regime": regime(line.rule),
                    }
                    for line in c.lines
                ],
                "excluded": [
                    {
                        "date_from": x.date_from.isoformat(),
                        "date_to": x.date_to.isoformat(),
                        "days": x.days,
                        "decree": x.decree,
                    }
                    for x in c.excluded
                ],
            }
            for c in result.charges
            if c.lines or c.excluded
        ],
    }

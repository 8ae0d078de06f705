"""Due dates of bills and the Russian production calendar (working and non-working days).

The production calendar comes from the ``holidays`` package, which carries the yearly decrees
that move days off (e.g. 27.04.2024 was a working Saturday, 29–30.04.2024 days off). Non-working
days declared by presidential decrees in 2020 (the covid weeks, 24.06 and 01.07.2020) are not in
it, and rightly so for due dates: the Supreme Court (Обзор ВС РФ №1 от 21.04.2020) held that they
do not move the last day of a term under ГК РФ ст. 193.

The day of the month a bill is due is dated data in ``reference/penalty_rules.json``
(``due_days``): the 10th of the next month, or the contract's day; for bills for March 2026 on,
the 15th with no contractual override (ФЗ №177-ФЗ от 24.06.2025).
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import holidays

RULES_PATH = Path(__file__).resolve().parent.parent / "reference" / "penalty_rules.json"
_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def parse_period(period: str) -> tuple[int, int]:
    """Return (year, month) of a billing period written ``YYYY-MM``; raise ValueError otherwise."""
    match = _PERIOD.fullmatch(period) if isinstance(period, str) else None
    if match is None:
        raise ValueError(f"a billing period is written YYYY-MM, got {period!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, slots=True)
class DueDayRule:
    """From billing period ``from_period`` on, a bill is due on ``day`` of the next month."""

    from_period: str
    day: int
    contract_may_override: bool
    source: str


def _due_day_rules_from(data: dict) -> tuple[DueDayRule, ...]:
    rules = tuple(
        DueDayRule(
            from_period=item["from_period"],
            day=int(item["day"]),
            contract_may_override=bool(item["contract_may_override"]),
            source=item["source"],
        )
        for item in data["due_days"]
    )
    for rule in rules:
        parse_period(rule.from_period)
        if not 1 <= rule.day <= 28:
            raise ValueError(f"due day {rule.day} of rule {rule.source!r} is not a day every month has")
    if not rules or any(a.from_period >= b.from_period for a, b in zip(rules, rules[1:])):
        raise ValueError("due day rules must be present and in period order")
    return rules


@lru_cache(maxsize=8)
def load_due_day_rules(path: Path = RULES_PATH) -> tuple[DueDayRule, ...]:
    """Load the due-day rules (``due_days`` of the rules file), in period order."""
    with Path(path).open(encoding="utf-8") as f:
        return _due_day_rules_from(json.load(f))


@lru_cache(maxsize=64)
def _non_working_days(year: int) -> frozenset[date]:
    # One pass per year, then a set lookup: the ledger asks for many due dates.
    calendar = holidays.country_holidays("RU", years=year)
    first = date(year, 1, 1)
    days = (first + timedelta(days=i) for i in range(366 if _stdlib_calendar.isleap(year) else 365))
    return frozenset(day for day in days if not calendar.is_working_day(day))


def is_working_day(day: date) -> bool:
    """Tell whether ``day`` is a working day of the Russian production calendar."""
    return day not in _non_working_days(day.year)


def next_working_day(day: date) -> date:
    """Return ``day`` if it is a working day, otherwise the next working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date(period: str, contract_day: int | None = None, rules: Sequence[DueDayRule] | None = None) -> date:
    """Return the last day to pay the bill for billing period ``period`` (``YYYY-MM``).

    The day of the next month comes from the rule in force for the period; ``contract_day`` (the
    day the contract sets) replaces it where that rule allows. A day past the month's end means
    its last day. A non-working day moves to the next working day (ГК РФ ст. 193).
    """
    if contract_day is not None and not 1 <= contract_day <= 31:
        raise ValueError(f"a contract's due day is 1..31, got {contract_day}")
    return _due_date(period, contract_day, tuple(rules) if rules is not None else load_due_day_rules())


@lru_cache(maxsize=4096)
def _due_date(period: str, contract_day: int | None, rules: tuple[DueDayRule, ...]) -> date:
    year, month = parse_period(period)
    in_force = [rule for rule in rules if rule.from_period <= period]
    if not in_force:
        raise ValueError(f"no due-day rule covers period {period}")
    rule = in_force[-1]
    day = contract_day if contract_day is not None and rule.contract_may_override else rule.day
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    day = min(day, _stdlib_calendar.monthrange(year, month)[1])
    return next_working_day(date(year, month, day))

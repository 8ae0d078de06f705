"""The demo account's story: what a newcomer finds on 123456789 (Мостэнергосбыт) after
`make run` — a year of readings and bills ending last month, the older bills paid, the last
ones open (the oldest overdue by more than 30 days, so penalties show).

Pure data, relative to ``today`` so the story stays current. Each service writes its own
part with its own code (``python -m services.<name>.cli demo``): readings the meter readings,
payments the charges priced by the tariffs and the payments. The account itself comes from
the demo registry (``services/accounts/demo_registry.csv``); its portal id and meters travel
from ``python -m services.accounts.cli demo`` to the others as JSON in the shape of the
accounts service's ``meter_registered`` events.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

NUMBER = "123456789"
BRANCH = "mostovskoy"
MONTHS = 12  # bills: the twelve months ending last month
UNPAID = 3  # the last three bills are open: the oldest is more than 30 days overdue
# The manual's sample bill (рис. 13): «КО на 01.11.18 3007 → КО на 01.12.18 3200», one month
# read by an inspector at both ends. It is last month's bill here.
SAMPLE = (3007, 3200)
# Monthly consumption (kWh) by calendar month: more in winter, a dip in spring and autumn.
KWH = {1: 262, 2: 236, 3: 208, 4: 171, 5: 149, 6: 166, 7: 198, 8: 191, 9: 158, 10: 177,
       11: 205, 12: 247}


@dataclass(frozen=True)
class Reading:
    period: str  # YYYY-MM
    value: int  # the single zone's reading
    source: str  # "manual" (the customer's, accepted by billing) or "inspector" (КО)
    taken_at: datetime  # UTC


@dataclass(frozen=True)
class Payment:
    period: str  # the bill it pays, in full
    paid_at: datetime  # UTC, before the bill's due date (no penalty on paid bills)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift(period: str, months: int) -> str:
    """``period`` moved by ``months`` (negative: earlier)."""
    year, month = (int(part) for part in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _last_day(period: str) -> date:
    return date.fromisoformat(shift(period, 1) + "-01") - timedelta(days=1)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


def charged_periods(today: date) -> list[str]:
    """The periods billed: the twelve months ending last month, oldest first."""
    last = shift(period_of(today), -1)
    return [shift(last, -n) for n in range(MONTHS - 1, -1, -1)]


def readings(today: date) -> list[Reading]:
    """One reading per month, from the month before the first bill (where counting starts)
    to last month: the customer's own on the 20th, except the sample bill's two КО readings
    (the month before last and last month, taken on their last day, as a bill dates them)."""
    periods = [shift(charged_periods(today)[0], -1), *charged_periods(today)]
    values = [SAMPLE[1], SAMPLE[0]]  # last month, the month before; then further back
    for period in reversed(periods[1:-1]):  # each month's reading less its consumption
        values.append(values[-1] - KWH[int(period[5:])])
    values.reverse()
    out = []
    for index, (period, value) in enumerate(zip(periods, values)):
        inspector = index >= len(periods) - 2
        day = _last_day(period) if inspector else date.fromisoformat(period + "-20")
        out.append(Reading(period, value, "inspector" if inspector else "manual",
                           at(day, 12 if inspector else 9)))
    return out


def payments(today: date) -> list[Payment]:
    """Every bill but the last ``UNPAID`` paid in full on the 7th of the next month (before
    the due date, the 10th or 15th)."""
    return [Payment(period, at(date.fromisoformat(shift(period, 1) + "-07"), 8))
            for period in charged_periods(today)[:-UNPAID]]

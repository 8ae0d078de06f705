"""The rules of a reading, as pure functions: window, values, consumption, plausibility."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from shared.errors import ValidationFailed

MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class Window:
    """Readings for a month are taken from ``start`` to ``end`` (days of that month), days as
    the supplier's calendar counts them (``tz``: SUPPLIER_TIMEZONE), not UTC's: at 00:30 in
    Moscow on the 15th it is still the 14th in UTC, and the window is open."""

    start_day: int
    end_day: int
    tz: ZoneInfo = field(default=MOSCOW)

    def today(self, now: datetime) -> date:
        """The supplier's date at the instant ``now`` (an aware datetime, the clock's UTC)."""
        return now.astimezone(self.tz).date()

    def bounds(self, year: int, month: int) -> tuple[date, date]:
        last = calendar.monthrange(year, month)[1]
        return date(year, month, min(self.start_day, last)), date(year, month, min(self.end_day, last))

    def is_open(self, today: date) -> bool:
        start, end = self.bounds(today.year, today.month)
        return start <= today <= end

    def next_opening(self, today: date) -> tuple[date, date]:
        """The next window that has not ended yet (this month's if still ahead)."""
        start, end = self.bounds(today.year, today.month)
        if today <= end:
            return start, end
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return self.bounds(year, month)

    def view(self, today: date) -> dict[str, object]:
        """The window as a page shows it: open today or not, and the dates of this month's
        window, or of the next one once this month's has ended."""
        start, end = self.next_opening(today)
        return {"open": self.is_open(today), "period": period_of(start),
                "start": start.isoformat(), "end": end.isoformat()}


def window_from(config: Mapping[str, Any]) -> Window:
    """The window the settings describe (READING_WINDOW_START_DAY/END_DAY, SUPPLIER_TIMEZONE)."""
    return Window(config["READING_WINDOW_START_DAY"], config["READING_WINDOW_END_DAY"],
                  ZoneInfo(config.get("SUPPLIER_TIMEZONE") or "Europe/Moscow"))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def check_values(values: object, zones: int, digits: int) -> list[int]:
    """One whole non-negative number per zone, within the counter's digit capacity."""
    if not isinstance(values, list) or len(values) != zones:
        raise ValidationFailed(
            f"Укажите показания для каждой зоны счётчика ({zones})",
            {"values": f"a list of {zones} number(s)"})
    checked = []
    for index, value in enumerate(values):
        field = f"values[{index}]"
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            else:
                raise ValidationFailed("Показания — целое число без дробной части",
                                       {field: "a whole number"})
        if value < 0:
            raise ValidationFailed("Показания не могут быть отрицательными", {field: "negative"})
        if value >= 10 ** digits:
            raise ValidationFailed(f"У счётчика {digits} цифр: показания больше {10 ** digits - 1}"
                                   " быть не могут", {field: f"more than {digits} digits"})
        checked.append(value)
    return checked


def consumption(previous: int, current: int, digits: int) -> tuple[int, bool]:
    """Consumption since ``previous`` and whether the counter rolled over.

    A value below the previous one is a rollover only when the previous was in the last
    tenth of the counter's range and the new one in the first tenth; otherwise it is an
    error ("less than previous")."""
    if current >= previous:
        return current - previous, False
    capacity = 10 ** digits
    if previous >= capacity * 0.9 and current < capacity * 0.1:
        return capacity - previous + current, True
    raise ValueError("less than previous")


def average(consumptions: list[int], minimum_periods: int = 3) -> float | None:
    """The usual monthly consumption: the mean of up to 12 periods, if there are enough."""
    recent = consumptions[-12:]
    return sum(recent) / len(recent) if len(recent) >= minimum_periods else None

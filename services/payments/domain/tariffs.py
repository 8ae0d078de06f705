"""Household tariffs as dated reference data, and the charge for a month's consumption.

The volume of the month is split into ranges (диапазоны): the kWh above a range's upper bound
are charged at the next range's price. Prices live in ``reference/tariffs.json`` (or the file
named by ``TARIFFS_FILE``), never in code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.errors import NotFound, ValidationFailed

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "reference" / "tariffs.json"
KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class Range:
    up_to_kwh: int | None  # None: no upper bound
    price: Decimal


@dataclass(frozen=True)
class Tariff:
    valid_from: date
    category: str
    ranges: tuple[Range, ...]


@lru_cache(maxsize=8)
def load(path: str = "") -> tuple[Tariff, ...]:
    """The tariff table, newest first within each category."""
    data = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    tariffs = [Tariff(date.fromisoformat(t["valid_from"]), t["category"],
                      tuple(Range(r["up_to_kwh"], Decimal(r["price"])) for r in t["ranges"]))
               for t in data["tariffs"]]
    return tuple(sorted(tariffs, key=lambda t: t.valid_from, reverse=True))


def tariff_on(tariffs: tuple[Tariff, ...], category: str, day: date) -> Tariff:
    """The tariff of a category in force on ``day``."""
    for tariff in tariffs:
        if tariff.category == category and tariff.valid_from <= day:
            return tariff
    raise NotFound("Нет тарифа для этого лицевого счёта", {"tariff": f"none for {category} on {day}"})


def charge_for(tariff: Tariff, consumption: list[int]) -> dict[str, Any]:
    """The charge for a month's consumption (kWh per zone; the ranges apply to their sum):
    one line per range used, the amount rounded to kopecks per line."""
    if not consumption or any(isinstance(k, bool) or not isinstance(k, int) or k < 0
                              for k in consumption):
        raise ValidationFailed("Расход — целые неотрицательные числа по зонам",
                               {"consumption": "non-negative whole kWh per zone"})
    left, lower, lines = sum(consumption), 0, []
    for number, band in enumerate(tariff.ranges, start=1):
        if left <= 0:
            break
        width = left if band.up_to_kwh is None else min(left, band.up_to_kwh - lower)
        if width > 0:
            amount = (band.price * width).quantize(KOPECK, ROUND_HALF_UP)
            lines.append({"range": number, "kwh": width, "price": str(band.price),
                          "amount": str(amount)})
            left -= width
        lower = band.up_to_kwh or lower
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))
    return {"category": tariff.category, "tariff_from": tariff.valid_from.isoformat(),
            "kwh": sum(consumption), "lines": lines, "amount": str(total)}

"""Household tariffs as dated reference data, and the charge for a month's consumption.

The volume of the month is split into ranges (диапазоны): the kWh above a range's upper bound
are charged at the next range's price. A range's bound may differ in the heating season (the
months the table names). Each range has a single-rate price and, where the order sets them,
zone prices: two zones (day, night) and three zones (peak, half-peak, night). A multi-zone
meter's month is priced zone by zone: the kWh of each range are shared among the zones in
proportion to each zone's part of the month (whole kWh, the largest remainders rounded up),
and each share is charged at its zone's price in that range. A table without zone prices for
a meter's zones gives no price at all rather than the single rate for every zone; likewise a
range whose price no citable source gave (``"price": null``) prices a month only while its
volume stays below that range.

Prices live in ``reference/tariffs.json`` (or the file named by ``TARIFFS_FILE``), each row
with its source, never in code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from shared.errors import NotFound, ValidationFailed

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "reference" / "tariffs.json"
KOPECK = Decimal("0.01")
# How the zones of a meter are numbered (its registers Т1, Т2, Т3; the bill's 1-эт, 2-эт,
# 3-эт), unless the table says otherwise in "zone_order".
ZONE_ORDER: dict[int, tuple[str, ...]] = {2: ("day", "night"), 3: ("peak", "night", "half_peak")}
ZONE_TITLES = {"day": "дневная", "night": "ночная", "peak": "пиковая", "half_peak": "полупиковая"}


@dataclass(frozen=True)
class Range:
    """One диапазон: its upper bound (kWh a month; None: no bound), another bound in the
    heating season if the order sets one, the single-rate price (None: not known) and the
    zone prices."""

    up_to_kwh: int | None
    price: Decimal | None
    heating_up_to_kwh: int | None = None
    zones: Mapping[int, Mapping[str, Decimal]] = field(default_factory=dict)

    def bound(self, heating: bool) -> int | None:
        """The upper bound in the given season."""
        return self.heating_up_to_kwh if heating and self.heating_up_to_kwh else self.up_to_kwh


@dataclass(frozen=True)
class Tariff:
    valid_from: date
    category: str
    ranges: tuple[Range, ...]
    heating_months: frozenset[int] = frozenset()
    zone_order: Mapping[int, tuple[str, ...]] = field(default_factory=lambda: ZONE_ORDER)
    source: Mapping[str, Any] = field(default_factory=dict)


def _bound(value: Any) -> int | None:
    return None if value is None else int(value)


def _range(data: Mapping[str, Any]) -> Range:
    zones = {int(count): {name: Decimal(price) for name, price in prices.items()}
             for count, prices in (data.get("zones") or {}).items()}
    price = None if data["price"] is None else Decimal(data["price"])
    return Range(_bound(data["up_to_kwh"]), price,
                 _bound(data.get("heating_up_to_kwh")), zones)


def tariff_from(data: Mapping[str, Any], table: Mapping[str, Any]) -> Tariff:
    """One row of the table (``table`` gives the defaults: heating months, zone order)."""
    order = {int(k): tuple(v) for k, v in (table.get("zone_order") or {}).items()} or ZONE_ORDER
    ranges = tuple(_range(r) for r in data["ranges"])
    for band in ranges:
        for count, prices in band.zones.items():
            if set(prices) != set(order.get(count, ())):
                raise ValueError(f"{data['category']} from {data['valid_from']}: the prices of "
                                 f"{count} zones must be {', '.join(order.get(count, ()))}")
    return Tariff(date.fromisoformat(data["valid_from"]), data["category"], ranges,
                  frozenset(data.get("heating_months", table.get("heating_months", ()))),
                  order, data.get("source") or {})


@lru_cache(maxsize=8)
def load(path: str = "") -> tuple[Tariff, ...]:
    """The tariff table, newest first within each category."""
    data = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    tariffs = [tariff_from(t, data) for t in data["tariffs"]]
    return tuple(sorted(tariffs, key=lambda t: t.valid_from, reverse=True))


def tariff_on(tariffs: tuple[Tariff, ...], category: str, day: date) -> Tariff:
    """The tariff of a category in force on ``day``."""
    for tariff in tariffs:
        if tariff.category == category and tariff.valid_from <= day:
            return tariff
    raise NotFound("Нет тарифа для этого лицевого счёта", {"tariff": f"none for {category} on {day}"})


def _widths(tariff: Tariff, total: int, heating: bool) -> list[int]:
    """The kWh of ``total`` falling in each range, in order."""
    left, lower, widths = total, 0, []
    for band in tariff.ranges:
        bound = band.bound(heating)
        width = left if bound is None else max(0, min(left, bound - lower))
        widths.append(width)
        left -= width
        lower = bound if bound is not None else lower
    return widths


def share(kwh: int, parts: list[int]) -> list[int]:
    """``kwh`` shared in proportion to ``parts`` in whole kWh that add up to ``kwh``: each
    share rounded down, the kWh left over going to the largest remainders (earlier first)."""
    whole = sum(parts)
    if whole == 0:
        return [0] * len(parts)
    shares = [kwh * part // whole for part in parts]
    remainders = sorted(range(len(parts)), key=lambda i: (-(kwh * parts[i] % whole), i))
    for i in remainders[:kwh - sum(shares)]:
        shares[i] += 1
    return shares


def zone_widths(widths: list[int], consumption: list[int]) -> list[list[int]]:
    """The kWh of each zone in each range: the month's kWh up to each range's end shared
    among the zones in proportion (so each zone's kWh over all ranges is its consumption),
    a zone never losing at a later bound what it had at an earlier one."""
    before = [0] * len(consumption)
    upto, split = 0, []
    for width in widths:
        upto += width
        now = share(upto, consumption)
        for i in range(len(now)):
            while now[i] < before[i]:  # rare (three zones): take the kWh from the zone ahead
                j = max(range(len(now)), key=lambda k: now[k] - before[k])
                now[i], now[j] = now[i] + 1, now[j] - 1
        split.append([a - b for a, b in zip(now, before)])
        before = now
    return split


def _line(number: int, kwh: int, price: Decimal, **zone: Any) -> dict[str, Any]:
    amount = (price * kwh).quantize(KOPECK, ROUND_HALF_UP)
    return {"range": number, **zone, "kwh": kwh, "price": str(price), "amount": str(amount)}


def _check_prices(tariff: Tariff, zones: int, names: tuple[str, ...], widths: list[int]
                  ) -> None:
    """NotFound unless every range the month's volume reaches has a price for this meter:
    no bill is better than one at a made-up price."""
    source = f"{tariff.category} from {tariff.valid_from}"
    for number, (band, width) in enumerate(zip(tariff.ranges, widths), start=1):
        if zones > 1 and (not names or (width > 0 and zones not in band.zones)):
            raise NotFound(f"В тарифе нет цен для счётчика с {zones} зонами суток",
                           {"tariff": f"no {zones}-zone prices for {source}"})
        if zones == 1 and width > 0 and band.price is None:
            raise NotFound(f"В тарифе нет цены для {number}-го диапазона потребления",
                           {"tariff": f"no price of range {number} for {source}"})


def charge_for(tariff: Tariff, consumption: list[int], month: int | None = None
               ) -> dict[str, Any]:
    """The charge for a month's consumption (kWh per zone of the meter; the ranges apply to
    their sum): one line per range used (and per zone on a multi-zone meter), the amount
    rounded to kopecks per line. ``month`` (1–12) chooses the season's range bounds."""
    if not consumption or any(isinstance(k, bool) or not isinstance(k, int) or k < 0
                              for k in consumption):
        raise ValidationFailed("Расход — целые неотрицательные числа по зонам",
                               {"consumption": "non-negative whole kWh per zone"})
    zones = len(consumption)
    names = tariff.zone_order.get(zones, ()) if zones > 1 else ()
    widths = _widths(tariff, sum(consumption), month in tariff.heating_months)
    _check_prices(tariff, zones, names, widths)
    lines = []
    for number, (band, width, split) in enumerate(
            zip(tariff.ranges, widths, zone_widths(widths, consumption)), start=1):
        if width <= 0:
            continue
        if zones == 1:
            assert band.price is not None  # _check_prices
            lines.append(_line(number, width, band.price))
            continue
        for index, (name, kwh) in enumerate(zip(names, split), start=1):
            if kwh:
                lines.append(_line(number, kwh, band.zones[zones][name], zone=index,
                                   zone_name=name))
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))
    return {"category": tariff.category, "tariff_from": tariff.valid_from.isoformat(),
            "kwh": sum(consumption), "lines": lines, "amount": str(total)}

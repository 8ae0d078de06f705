"""The tariffs a customer checks on the bill: the ranges (диапазоны) and the zone prices.

``EXAMPLE`` is a table written for these tests (its zone prices are made up to be easy to
multiply, not any order's); the shipped table is checked for what it must say about itself.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payments.domain import tariffs
from shared.errors import NotFound, ValidationFailed

EXAMPLE = {
    "zone_order": {"2": ["day", "night"], "3": ["peak", "night", "half_peak"]},
    "heating_months": [1, 2, 3, 4, 10, 11, 12],
    "tariffs": [{
        "valid_from": "2026-01-01", "category": "urban", "source": {"note": "test data"},
        "ranges": [
            {"up_to_kwh": 1100, "heating_up_to_kwh": 1500, "price": "7.00",
             "zones": {"2": {"day": "8.00", "night": "4.00"},
                       "3": {"peak": "9.00", "half_peak": "7.00", "night": "4.00"}}},
            {"up_to_kwh": 3900, "price": "10.00",
             "zones": {"2": {"day": "11.00", "night": "6.00"},
                       "3": {"peak": "12.00", "half_peak": "10.00", "night": "6.00"}}},
            {"up_to_kwh": None, "price": "15.00",
             "zones": {"2": {"day": "16.00", "night": "9.00"},
                       "3": {"peak": "17.00", "half_peak": "15.00", "night": "9.00"}}},
        ]}],
}


@pytest.fixture
def table(tmp_path) -> tuple[tariffs.Tariff, ...]:
    path = tmp_path / "tariffs.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    return tariffs.load(str(path))


def urban(table) -> tariffs.Tariff:
    return tariffs.tariff_on(table, "urban", date(2026, 7, 1))


def lines(charge: dict) -> list[tuple]:
    return [(l["range"], l.get("zone"), l["kwh"], l["price"], l["amount"]) for l in charge["lines"]]


def test_a_two_zone_meter_is_charged_each_zone_at_its_own_price(table) -> None:
    charge = tariffs.charge_for(urban(table), [300, 100], 7)

    # Т1 day 300 kWh × 8.00 = 2400.00, Т2 night 100 kWh × 4.00 = 400.00: not 400 × 7.00.
    assert lines(charge) == [(1, 1, 300, "8.00", "2400.00"), (1, 2, 100, "4.00", "400.00")]
    assert [l["zone_name"] for l in charge["lines"]] == ["day", "night"]
    assert charge["amount"] == "2800.00"


def test_a_three_zone_meter_is_charged_peak_night_and_half_peak(table) -> None:
    charge = tariffs.charge_for(urban(table), [100, 200, 300], 7)

    # Т1 peak 100 × 9 = 900, Т2 night 200 × 4 = 800, Т3 half-peak 300 × 7 = 2100.
    assert lines(charge) == [(1, 1, 100, "9.00", "900.00"), (1, 2, 200, "4.00", "800.00"),
                             (1, 3, 300, "7.00", "2100.00")]
    assert charge["amount"] == "3800.00"


def test_above_a_range_each_zone_pays_the_next_range_in_proportion(table) -> None:
    charge = tariffs.charge_for(urban(table), [1000, 500], 7)

    # 1500 kWh: 1100 in the first range, 400 in the second; day is 2/3 of the month, night
    # 1/3 in each range: 733 + 367 (733.33… and 366.66… rounded, adding up to 1100), then
    # 267 + 133. 733 × 8 + 367 × 4 + 267 × 11 + 133 × 6 = 5864 + 1468 + 2937 + 798.
    assert lines(charge) == [(1, 1, 733, "8.00", "5864.00"), (1, 2, 367, "4.00", "1468.00"),
                             (2, 1, 267, "11.00", "2937.00"), (2, 2, 133, "6.00", "798.00")]
    assert charge["amount"] == "11067.00"


def test_a_single_rate_meter_pays_by_range_as_before(table) -> None:
    charge = tariffs.charge_for(urban(table), [1200], 7)

    # 1100 × 7.00 + 100 × 10.00
    assert lines(charge) == [(1, None, 1100, "7.00", "7700.00"), (2, None, 100, "10.00", "1000.00")]


def test_the_heating_season_has_the_order_s_own_bound(table) -> None:
    summer = tariffs.charge_for(urban(table), [1200], 7)
    winter = tariffs.charge_for(urban(table), [1200], 12)

    assert [l["kwh"] for l in summer["lines"]] == [1100, 100]
    assert [l["kwh"] for l in winter["lines"]] == [1200]  # up to 1500 in December


def test_a_table_without_zone_prices_gives_no_price_rather_than_the_single_rate(tmp_path) -> None:
    path = tmp_path / "single.json"
    path.write_text(json.dumps({"tariffs": [{
        "valid_from": "2026-01-01", "category": "urban",
        "ranges": [{"up_to_kwh": None, "price": "7.00"}]}]}), encoding="utf-8")
    tariff = tariffs.tariff_on(tariffs.load(str(path)), "urban", date(2026, 7, 1))

    with pytest.raises(NotFound) as missing:
        tariffs.charge_for(tariff, [300, 100], 7)
    assert "зонами" in missing.value.message
    assert tariffs.charge_for(tariff, [400], 7)["amount"] == "2800.00"


def test_zone_prices_must_name_every_zone(tmp_path) -> None:
    broken = json.loads(json.dumps(EXAMPLE))
    del broken["tariffs"][0]["ranges"][0]["zones"]["3"]["half_peak"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")

    with pytest.raises(ValueError):
        tariffs.load(str(path))


def test_bad_consumption_is_refused(table) -> None:
    with pytest.raises(ValidationFailed):
        tariffs.charge_for(urban(table), [-1, 5], 7)


@given(st.lists(st.integers(0, 6000), min_size=2, max_size=3), st.integers(1, 12))
def test_every_kwh_of_every_zone_is_charged_once(consumption, month) -> None:
    tariff = tariffs.tariff_from(EXAMPLE["tariffs"][0], EXAMPLE)

    charge = tariffs.charge_for(tariff, consumption, month)

    by_zone = [sum(l["kwh"] for l in charge["lines"] if l["zone"] == z)
               for z in range(1, len(consumption) + 1)]
    assert by_zone == consumption
    assert all(l["kwh"] > 0 for l in charge["lines"])
    assert sum(Decimal(l["amount"]) for l in charge["lines"]) == Decimal(charge["amount"])


def test_the_shipped_table_cites_a_source_for_every_row_and_lists_its_gaps() -> None:
    data = json.loads(tariffs.DEFAULT_FILE.read_text(encoding="utf-8"))

    assert data["gaps"]
    for row in data["tariffs"]:
        prices = row["source"]["prices"]
        assert prices["document"]
        # a press article cited by its title may lack an address; then the row says so
        assert (prices["url"] or "").startswith("http") or prices.get("url_missing")
        assert row["source"]["ranges"]["url"].startswith("http")
    shipped = tariffs.load("")
    assert {t.category for t in shipped} == {"urban", "rural", "electric_stove",
                                             "electric_heating"}
    # From 01.07.2025 (ТНС энерго Кубань, 18.07.2025): urban 7.35 / 10.00 / 14.64.
    july = tariffs.tariff_on(shipped, "urban", date(2025, 7, 1))
    assert [r.price for r in july.ranges] == [Decimal("7.35"), Decimal("10.00"), Decimal("14.64")]
    assert july.ranges[0].up_to_kwh == 1100


# ---- the shipped table: the row of the month, the category's ranges -------------------------

def shipped(category: str, month: str) -> tariffs.Tariff:
    return tariffs.tariff_on(tariffs.load(""), category, date.fromisoformat(month + "-01"))


def test_june_and_july_2024_are_priced_by_their_own_rows() -> None:
    june = tariffs.charge_for(shipped("urban", "2024-06"), [300], 6)
    july = tariffs.charge_for(shipped("urban", "2024-07"), [300], 7)

    # Until 30.06.2024 one price for any volume, 6.00 ₽; from 01.07.2024 6.53 ₽ in the first
    # of three ranges (up to 11 000 kWh a month).
    assert (june["tariff_from"], june["amount"]) == ("2024-01-01", "1800.00")
    assert (july["tariff_from"], july["amount"]) == ("2024-07-01", "1959.00")
    assert [r.up_to_kwh for r in shipped("urban", "2024-06").ranges] == [None]
    assert [r.up_to_kwh for r in shipped("urban", "2024-07").ranges] == [11000, 20000, None]


def test_from_2025_the_first_range_ends_at_1100_kwh_at_the_2024_price() -> None:
    january = shipped("urban", "2025-01")

    assert january.valid_from == date(2025, 1, 1) and january.ranges[0].up_to_kwh == 1100
    assert tariffs.charge_for(january, [1100], 1)["amount"] == "7183.00"  # 1100 × 6.53


def test_a_category_has_its_own_prices() -> None:
    # Homes with electric stoves: 4.57 ₽ from 01.07.2024, 5.15 ₽ from 01.07.2025 (first range).
    assert tariffs.charge_for(shipped("electric_stove", "2024-07"), [300], 7)["amount"] == "1371.00"
    assert tariffs.charge_for(shipped("electric_stove", "2025-07"), [300], 7)["amount"] == "1545.00"
    assert tariffs.charge_for(shipped("urban", "2025-07"), [300], 7)["amount"] == "2205.00"


def test_a_range_whose_price_was_not_found_gives_no_price_rather_than_a_guess() -> None:
    with pytest.raises(NotFound) as missing:
        tariffs.charge_for(shipped("urban", "2025-01"), [1200], 1)
    assert "2-го диапазона" in missing.value.message
    with pytest.raises(NotFound):
        tariffs.charge_for(shipped("urban", "2024-07"), [12000], 7)
    with pytest.raises(NotFound):  # no row for homes with electric stoves before 01.07.2024
        shipped("electric_stove", "2024-06")


def test_2026_months_are_priced_by_the_last_row_found_until_the_2026_orders_are() -> None:
    # The gaps say so: no citable prices from 01.01.2026 or 01.10.2026 yet.
    for month in ("2026-01", "2026-10"):
        charge = tariffs.charge_for(shipped("urban", month), [250], int(month[5:]))
        assert (charge["tariff_from"], charge["amount"]) == ("2025-07-01", "1837.50")


def test_no_shipped_row_charges_a_two_zone_meter_the_single_rate() -> None:
    for tariff in tariffs.load(""):
        with pytest.raises(NotFound):
            tariffs.charge_for(tariff, [200, 100], 7)


def test_zone_prices_of_the_first_range_only_price_a_month_within_it(tmp_path) -> None:
    path = tmp_path / "first.json"
    path.write_text(json.dumps({"tariffs": [{
        "valid_from": "2026-01-01", "category": "urban",
        "ranges": [{"up_to_kwh": 1100, "price": "7.00", "zones": {"2": {"day": "8.00",
                                                                         "night": "4.00"}}},
                   {"up_to_kwh": None, "price": None}]}]}), encoding="utf-8")
    tariff = tariffs.tariff_on(tariffs.load(str(path)), "urban", date(2026, 7, 1))

    assert tariffs.charge_for(tariff, [600, 400], 7)["amount"] == "6400.00"  # 4800 + 1600
    with pytest.raises(NotFound):
        tariffs.charge_for(tariff, [800, 400], 7)
    with pytest.raises(NotFound):
        tariffs.charge_for(tariff, [1200], 7)

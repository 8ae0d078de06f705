"""Due dates of bills and the Russian production calendar they move by.

Days off are those of the government's yearly decrees on moving days off, as published in the
production calendars for each year.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.payments.domain.calendar import due_date, is_working_day, next_working_day, parse_period


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 4, 27), True),  # a working Saturday (for 29.04)
        (date(2024, 4, 29), False),
        (date(2024, 4, 30), False),
        (date(2024, 5, 10), False),  # moved from 06.01.2024
        (date(2024, 12, 28), True),  # a working Saturday (for 30.12)
        (date(2024, 12, 30), False),
        (date(2025, 11, 1), True),  # a working Saturday (for 03.11)
        (date(2025, 11, 3), False),
        (date(2026, 1, 9), False),  # moved from 03.01.2026
        (date(2026, 12, 31), False),  # moved from 04.01.2026
        (date(2019, 5, 10), False),
        (date(2022, 3, 7), False),  # for the working Saturday 05.03.2022
        (date(2024, 5, 13), True),
    ],
)
def test_the_production_calendar_knows_the_moved_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_a_working_day_is_its_own_next_working_day() -> None:
    assert next_working_day(date(2024, 4, 27)) == date(2024, 4, 27)
    assert next_working_day(date(2024, 4, 28)) == date(2024, 5, 2)  # Sunday, then 29.04–01.05 off


@pytest.mark.parametrize(
    ("period", "due"),
    [
        ("2019-05", date(2019, 6, 10)),  # the worked example of DESIGN.md
        ("2024-04", date(2024, 5, 13)),  # 10.05.2024 a day off, 11–12 a weekend
        ("2022-04", date(2022, 5, 11)),  # 10.05.2022 a day off
        ("2020-12", date(2021, 1, 11)),  # 10.01.2021 a Sunday
        ("2025-12", date(2026, 1, 12)),  # 10.01.2026 a Saturday
        ("2023-08", date(2023, 9, 11)),  # 10.09.2023 a Sunday
        ("2026-02", date(2026, 3, 10)),  # the last bill due on the 10th
        ("2026-03", date(2026, 4, 15)),  # the first due on the 15th (ФЗ №177-ФЗ)
        ("2026-10", date(2026, 11, 16)),  # 15.11.2026 a Sunday
        ("2026-12", date(2027, 1, 15)),  # across the year
    ],
)
def test_the_legal_due_date(period: str, due: date) -> None:
    assert due_date(period) == due


def test_a_contract_sets_the_day_until_march_2026_only() -> None:
    assert due_date("2025-06", contract_day=20) == date(2025, 7, 21)  # 20.07.2025 a Sunday
    assert due_date("2026-02", contract_day=20) == date(2026, 3, 20)
    assert due_date("2026-03", contract_day=20) == date(2026, 4, 15)  # the law allows no other day


def test_a_contract_day_past_the_end_of_the_month_means_its_last_day() -> None:
    assert due_date("2024-01", contract_day=31) == date(2024, 2, 29)
    assert due_date("2023-01", contract_day=31) == date(2023, 2, 28)


@pytest.mark.parametrize("period", ["2024-13", "2024-1", "24-01", "2024-00", "", "2024/01"])
def test_a_malformed_period_is_refused(period: str) -> None:
    with pytest.raises(ValueError):
        parse_period(period)
    with pytest.raises(ValueError):
        due_date(period)


@pytest.mark.parametrize("day", [0, 32])
def test_an_impossible_contract_day_is_refused(day: int) -> None:
    with pytest.raises(ValueError):
        due_date("2024-01", contract_day=day)

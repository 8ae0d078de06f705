"""The Bank of Russia key rate table: the rate in force on a day, and its updates.

Figures are the Bank of Russia's published decisions (cbr.ru, "Ключевая ставка Банка России").
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.payments.domain.key_rates import DEFAULT_PATH, KeyRateError, KeyRateTable, load_key_rates, update_key_rate

D = Decimal


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2013, 9, 13), D("5.50")),  # the first key rate
        (date(2019, 6, 16), D("7.75")),
        (date(2019, 6, 17), D("7.50")),  # a rate is in force from its own day
        (date(2022, 2, 27), D("9.50")),  # the rate ПП №474 refers to
        (date(2022, 2, 28), D("20.00")),
        (date(2022, 9, 19), D("7.50")),
        (date(2023, 7, 24), D("8.50")),
        (date(2023, 8, 15), D("12.00")),
        (date(2024, 10, 28), D("21.00")),
        (date(2025, 6, 9), D("20.00")),
        (date(2025, 10, 27), D("16.50")),
    ],
)
def test_the_rate_in_force_on_a_day(day: date, rate: Decimal) -> None:
    assert load_key_rates().rate_on(day) == rate


def test_no_rate_before_the_first_one() -> None:
    with pytest.raises(KeyRateError):
        load_key_rates().rate_on(date(2013, 9, 12))


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    """A copy of the shipped table to change."""
    path = tmp_path / "key_rates.csv"
    shutil.copyfile(DEFAULT_PATH, path)
    return path


def test_an_update_adds_a_row_and_rewrites_the_file(table_file: Path) -> None:
    last = load_key_rates(table_file).last_change
    new_day = date(last.year + 1, 1, 15)

    table = update_key_rate(new_day, D("14.5"), table_file)

    assert table.rate_on(new_day) == D("14.50")
    assert load_key_rates(table_file).rate_on(new_day) == D("14.50")
    assert load_key_rates(table_file).last_change == new_day
    assert table_file.read_text(encoding="utf-8").splitlines()[-1] == f"{new_day.isoformat()},14.50"


def test_an_update_of_a_known_day_replaces_its_rate(table_file: Path) -> None:
    rows_before = len(load_key_rates(table_file).rows)

    table = update_key_rate(date(2022, 2, 28), D("19.00"), table_file)

    assert len(table.rows) == rows_before
    assert load_key_rates(table_file).rate_on(date(2022, 3, 1)) == D("19.00")
    assert load_key_rates(table_file).rate_on(date(2022, 4, 11)) == D("17.00")


@pytest.mark.parametrize("rate", [D("-1"), D("100"), D("7.125"), D("NaN")])
def test_an_impossible_rate_is_refused_and_the_file_kept(table_file: Path, rate: Decimal) -> None:
    before = table_file.read_bytes()

    with pytest.raises(KeyRateError):
        update_key_rate(date(2030, 1, 1), rate, table_file)

    assert table_file.read_bytes() == before


@pytest.mark.parametrize(
    "text",
    [
        "date,rate\n2013-09-13,5.50\n",  # wrong header
        "in_force_from,rate_percent\n2013-09-13,five\n",
        "in_force_from,rate_percent\n13.09.2013,5.50\n",
        "in_force_from,rate_percent\n2014-03-03,7.00\n2013-09-13,5.50\n",  # out of order
        "in_force_from,rate_percent\n",  # empty
    ],
)
def test_a_malformed_table_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "key_rates.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(KeyRateError):
        load_key_rates(path)


def test_a_table_is_in_date_order() -> None:
    with pytest.raises(KeyRateError):
        KeyRateTable(((date(2014, 3, 3), D("7.00")), (date(2014, 3, 3), D("7.50"))))

"""`python -m services.payments.cli key-rate`: the Bank of Russia changed the rate."""
from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

from services.payments.cli import main
from services.payments.domain.key_rates import DEFAULT_PATH, load_key_rates


def test_a_new_key_rate_is_recorded_and_read_back(tmp_path, monkeypatch, capsys):
    table = tmp_path / "key_rates.csv"
    shutil.copy(DEFAULT_PATH, table)
    monkeypatch.setenv("KEY_RATES_FILE", str(table))
    assert main(["key-rate", "--from", "2027-02-14", "--rate", "14.25"]) == 0
    assert "14.25% from 14.02.2027" in capsys.readouterr().out
    rates = load_key_rates(table)
    assert rates.rate_on(date(2027, 2, 14)) == Decimal("14.25")
    assert rates.rate_on(date(2027, 2, 13)) != Decimal("14.25")


def test_a_bad_rate_is_refused_and_the_table_kept(tmp_path, monkeypatch, capsys):
    table = tmp_path / "key_rates.csv"
    shutil.copy(DEFAULT_PATH, table)
    monkeypatch.setenv("KEY_RATES_FILE", str(table))
    before = table.read_text()
    assert main(["key-rate", "--from", "2027-02-14", "--rate", "abc"]) == 2
    assert main(["key-rate", "--from", "2027-02-14", "--rate", "-1"]) == 2
    assert "error" in capsys.readouterr().err
    assert table.read_text() == before

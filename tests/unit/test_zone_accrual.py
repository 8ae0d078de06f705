"""The built-in monthly accrual prices each zone of a two-zone meter at its own price, by the
row of the billed month; with no zone prices in that row it charges nothing rather than the
single rate for both zones.

The zone prices of ``ZONES`` are written for this test (no citable zone prices of Krasnodar
Krai were found: see the gaps of reference/tariffs.json); the single-rate figures are the
shipped table's.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.payments.domain.accrual import accrue, reading_submitted
from services.payments.models import Charge, PaymentsBase
from shared.work import Work

ZONES = {"tariffs": [{
    "valid_from": "2024-07-01", "category": "urban", "source": {"note": "test data"},
    "ranges": [{"up_to_kwh": 1100, "price": "6.53",
                "zones": {"2": {"day": "7.00", "night": "4.00"}}},
               {"up_to_kwh": None, "price": None}]}]}


@pytest.fixture
def ledger(db: Session) -> Session:
    """The unit tests' in-memory database (conftest) with the payments tables."""
    PaymentsBase.metadata.create_all(db.get_bind())
    return db


def work(db: Session, events: list[tuple[str, dict[str, Any]]], day: int = 2) -> Work:
    return Work(db=db, config={}, now=datetime(2024, 8, day, 9, tzinfo=timezone.utc),
                record=lambda name, payload: events.append((name, payload)))


def readings(db: Session, number: str, values: dict[str, list[int]]) -> None:
    """The meter's reading of each period, as readings' reading_submitted brings it."""
    for period, taken in values.items():
        reading_submitted(work(db, []), {
            "number": number, "branch": "krasnodar", "account_id": int(number[-3:]),
            "meter_serial": f"M{number}", "period": period, "values": taken,
            "rolled_over": False, "submitted_at": datetime(int(period[:4]), int(period[5:]), 20,
                                                           tzinfo=timezone.utc)})
    db.commit()


def test_a_two_zone_meter_is_charged_day_and_night_at_their_own_prices(ledger, tmp_path) -> None:
    table = tmp_path / "zones.json"
    table.write_text(json.dumps(ZONES), encoding="utf-8")
    readings(ledger, "100000101", {"2024-06": [5000, 2000], "2024-07": [5300, 2100]})
    events: list[tuple[str, dict[str, Any]]] = []

    assert accrue(work(ledger, events), str(table)) == 1

    # July 2024: day 300 kWh × 7.00 = 2100.00, night 100 kWh × 4.00 = 400.00 — not 400 × 6.53.
    [(name, payload)] = events
    assert name == "charge_posted" and payload["period"] == "2024-07"
    assert [(l["zone_name"], l["kwh"], l["price"], l["amount"]) for l in payload["lines"]] == [
        ("day", 300, "7.00", "2100.00"), ("night", 100, "4.00", "400.00")]
    assert ledger.scalar(select(Charge.amount)) == Decimal("2500.00")


def test_the_shipped_table_charges_july_2024_and_leaves_a_two_zone_meter_unpriced(ledger) -> None:
    readings(ledger, "100000102", {"2024-06": [1000], "2024-07": [1300]})
    readings(ledger, "100000103", {"2024-06": [5000, 2000], "2024-07": [5300, 2100]})
    events: list[tuple[str, dict[str, Any]]] = []

    assert accrue(work(ledger, events), "") == 1

    # The one-zone meter: 300 kWh × 6.53 ₽ (urban, from 01.07.2024). The two-zone meter: no
    # zone prices in the shipped table, so no charge (a later run charges it once they are).
    [(_, payload)] = events
    assert (payload["number"], payload["amount"]) == ("100000102", "1959.00")
    assert accrue(work(ledger, events, day=3), "") == 0


def test_the_accrual_reads_the_tariffs_file_it_is_given(ledger, tmp_path: Path) -> None:
    readings(ledger, "100000104", {"2024-06": [5000, 2000], "2024-07": [5300, 2100]})
    assert accrue(work(ledger, []), "") == 0  # shipped table: no zone prices
    table = tmp_path / "zones.json"
    table.write_text(json.dumps(ZONES), encoding="utf-8")

    assert accrue(work(ledger, [], day=3), str(table)) == 1  # charged once the prices exist

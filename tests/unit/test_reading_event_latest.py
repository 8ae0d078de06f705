"""Payments keeps the latest reading of a meter per period from readings' events in one
upsert: a later one replaces it, an older one arriving late (or the same one again) does not."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from services.payments.domain.accrual import reading_submitted
from services.payments.models import MeterReading
from tests.unit.test_zone_accrual import ledger, work  # noqa: F401  (the fixture)


def event(values: list[int], hour: int) -> dict[str, Any]:
    return {"number": "100000101", "branch": "krasnodar", "account_id": 101,
            "meter_serial": "M1", "period": "2024-07", "values": values, "rolled_over": False,
            "submitted_at": datetime(2024, 7, 20, hour, tzinfo=timezone.utc)}


def test_the_latest_reading_of_the_period_stays(ledger):  # noqa: F811
    for values, hour in (([100], 9), ([120], 11), ([110], 10), ([120], 11)):
        reading_submitted(work(ledger, []), event(values, hour))
        ledger.commit()
    [row] = ledger.scalars(select(MeterReading)).all()
    assert (row.values, row.submitted_at.hour) == ([120], 11)

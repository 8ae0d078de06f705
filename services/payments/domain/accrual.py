"""The built-in monthly accrual, for suppliers without an external billing (and the demo):
the consumption between the last readings of two periods, priced by the account's tariff.

Readings arrive as readings' ``reading_submitted`` events; the latest one of a meter in a
period counts. When a period is over, each account with readings for it and for an earlier
period gets one charge for it (never two: the charge is unique per account, period and
source), published as ``payments.charge_posted`` for billing systems.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import select

from services.payments.domain import calendar, tariffs
from services.payments.domain.ledger import ensure_account, post_charge
from services.payments.models import Charge, LedgerAccount, MeterReading
from shared.db import dialect_insert
from shared.errors import NotFound
from shared.work import Work

log = logging.getLogger(__name__)


def reading_submitted(work: Work, payload: dict[str, Any]) -> None:
    """Keep the latest reading of the meter for its period."""
    db = work.db
    account = ensure_account(db, payload["number"], payload["branch"], payload["account_id"])
    latest = {"values": list(payload["values"]), "rolled_over": payload["rolled_over"],
              "submitted_at": payload["submitted_at"]}
    insert = dialect_insert(db, MeterReading).values(
        ledger_id=account.id, serial=payload["meter_serial"], period=payload["period"], **latest)
    # One statement (no read first): an older reading arriving late changes nothing.
    db.execute(insert.on_conflict_do_update(
        index_elements=["ledger_id", "serial", "period"], set_=latest,
        where=MeterReading.__table__.c.submitted_at <= insert.excluded.submitted_at))


def previous_period(day: date) -> str:
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return f"{year:04d}-{month:02d}"


def _consumption(earlier: list[int], latest: list[int], rolled: bool) -> list[int]:
    used = []
    for before, now in zip(earlier, latest):
        if now >= before:
            used.append(now - before)
        elif rolled:  # the counter went round: its capacity is the next power of ten
            used.append(10 ** len(str(before)) - before + now)
        else:
            used.append(0)
    return used


def accrue(work: Work, tariffs_file: str = "") -> int:
    """Charge every account with readings for the period that ended, once. Returns the
    number of charges made."""
    db = work.db
    period = previous_period(work.now.date())
    table = tariffs.load(tariffs_file)
    made = 0
    done = set(db.scalars(select(Charge.ledger_id).where(Charge.period == period)))
    ledger_ids = set(db.scalars(select(MeterReading.ledger_id).where(
        MeterReading.period == period))) - done
    for ledger_id in sorted(ledger_ids):
        account = db.get(LedgerAccount, ledger_id)
        zones: list[int] = []
        for latest in db.scalars(select(MeterReading).where(
                MeterReading.ledger_id == ledger_id, MeterReading.period == period)):
            earlier = db.scalar(select(MeterReading).where(
                MeterReading.ledger_id == ledger_id, MeterReading.serial == latest.serial,
                MeterReading.period < period).order_by(MeterReading.period.desc()).limit(1))
            if earlier is None:
                continue  # a meter's first reading only sets where counting starts
            used = _consumption(earlier.values, latest.values, latest.rolled_over)
            zones = [a + b for a, b in zip(zones, used)] + used[len(zones):] if zones else used
        if not zones:
            continue
        year, month = map(int, period.split("-"))
        try:
            price = tariffs.charge_for(tariffs.tariff_on(table, account.tariff_category,
                                                         date(year, month, 1)), zones, month)
        except NotFound as missing:
            # No price in the table (e.g. no zone prices): no bill rather than a wrong one;
            # charged on a later run once the table has it.
            log.warning("no accrual for %s (%s) in %s: %s", account.number, account.branch,
                        period, missing.fields)
            continue
        due = calendar.due_date(period)
        payload = {"number": account.number, "branch": account.branch, "period": period,
                   "amount": price["amount"], "due_date": due, "lines": price["lines"]}
        post_charge(work, payload, "accrual")
        work.record("charge_posted", {**payload, "account_id": account.account_id,
                                      "due_date": due.isoformat()})
        made += 1
    db.commit()
    return made

"""The demo account's readings (``shared/demo.py``), written by this service's own code:
its meters as the accounts service's ``meter_registered`` events give them, the customer's
monthly readings as billing accepted them, and the inspector's (КО) through the same code as
billing's ``inspector_reading_taken`` event. No event is published: payments writes its own
part of the story. Idempotent: a reading already there is left alone."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from services.readings.domain.submissions import LIVE, Readings
from services.readings.models import Reading, ReadingPhoto, ReminderSent
from shared import demo
from shared.contracts.accounts import MeterRegistered
from shared.work import Work


def load(work: Work, account: dict[str, Any]) -> int:
    """Write what is missing of the story for ``account`` (the accounts demo command's
    JSON); the number of readings written."""
    readings = Readings(work)
    db = work.db
    meters = [MeterRegistered().load(payload) for payload in account["meters"]]
    for payload in meters:
        readings.meter_registered(payload)
    db.flush()
    written = 0
    meter = meters[0]  # the demo account has one single-zone meter
    for step in demo.readings(work.now.date()):
        live = db.scalars(select(Reading).where(
            Reading.account_id == meter["account_id"], Reading.meter_serial == meter["serial"],
            Reading.period == step.period, Reading.status.in_(LIVE))).all()
        if any(r.values == [step.value] and r.source == step.source for r in live):
            continue
        if step.source == "inspector":  # as billing's event would bring it
            readings.inspector_reading({"number": meter["number"], "branch": meter["branch"],
                                        "serial": meter["serial"], "values": [step.value],
                                        "taken_on": step.taken_at.date()})
        else:
            for earlier in live:
                earlier.status = "replaced"
            db.add(Reading(account_id=meter["account_id"], meter_serial=meter["serial"],
                           period=step.period, t1=step.value, t2=None, t3=None,
                           rolled_over=False, source=step.source, status="accepted",
                           submitted_by=None, submitted_at=step.taken_at,
                           decided_at=step.taken_at + timedelta(days=1)))
        db.flush()
        written += 1
    db.commit()
    return written


def reset(work: Work, account: dict[str, Any]) -> int:
    """Remove every reading of the account (its photos and reminders too); the meters stay.
    The number of readings removed."""
    db = work.db
    account_id = account["account_id"]
    db.execute(delete(ReadingPhoto).where(ReadingPhoto.account_id == account_id))
    db.execute(delete(ReminderSent).where(ReminderSent.account_id == account_id))
    removed = db.execute(delete(Reading).where(Reading.account_id == account_id)).rowcount
    db.commit()
    return removed

"""The reminder before the reading window closes, to accounts still without a reading."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.readings.domain import rules
from services.readings.domain.submissions import LIVE
from services.readings.models import Meter, Reading, ReminderSent
from shared.work import Work


def remind_missing(work: Work, window: rules.Window, days_before: int) -> int:
    """In the last ``days_before`` days of the window, one ``reading_reminder_due`` event per
    account that has a meter in service with no reading for the period (once per period).
    Returns how many accounts were reminded."""
    today = window.today(work.now)
    _, end = window.bounds(today.year, today.month)
    if not (end - timedelta(days=days_before) <= today <= end):
        return 0
    period = rules.period_of(today)
    db = work.db
    read = set(db.execute(select(Reading.account_id, Reading.meter_serial).where(
        Reading.period == period, Reading.status.in_(LIVE))).tuples())
    reminded = set(db.scalars(select(ReminderSent.account_id).where(
        ReminderSent.period == period)))
    missing: dict[int, list[Meter]] = {}
    for meter in db.scalars(select(Meter).where(Meter.removed_on.is_(None))
                            .order_by(Meter.account_id, Meter.id)):
        if meter.account_id not in reminded and (meter.account_id, meter.serial) not in read:
            missing.setdefault(meter.account_id, []).append(meter)
    for account_id, meters in missing.items():
        db.add(ReminderSent(account_id=account_id, period=period, sent_at=work.now))
        work.record("reading_reminder_due", {
            "account_id": account_id, "number": meters[0].number, "branch": meters[0].branch,
            "period": period, "window_end": end.isoformat(),
            "meter_serials": [m.serial for m in meters]})
    db.commit()
    return len(missing)

"""ПЕРЕДАЧА ПОКАЗАНИЙ and the Показания tab: submit a reading, billing's decision, history."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timezone, tzinfo
from typing import Any

from sqlalchemy import select

from services.readings.domain import photos, rules
from services.readings.models import REJECT_REASONS, Meter, Reading, ReadingPhoto
from shared import paging
from shared.contracts.accounts import MeterRegistered
from shared.errors import Gone, NotFound, ValidationFailed
from shared.work import Work as Deps

LIVE = ("pending", "accepted")  # the statuses that count as "the" reading of a period
# The reading's type as a bill's meter table marks it (the sample bill's «КО на 01.11.18»):
# КО — контрольное обследование, an inspector's reading on site; ПА — показания абонента,
# the customer's own (by hand or from a photo); АСКУЭ — read remotely by the automated
# metering system; РАСЧ — расчётные, estimated by billing when no reading came.
BILL_KINDS = {"inspector": "КО", "manual": "ПА", "photo": "ПА", "automatic": "АСКУЭ",
              "estimated": "РАСЧ"}


@dataclass(frozen=True)
class Evaluation:
    """A submission checked against the meter and its last reading."""

    meter: Meter
    period: str
    current: list[int]
    previous: Reading | None
    same_period: list[Reading]  # the period's live readings: replaced by a new one
    used: list[int] | None  # consumption per zone; None for a meter's first reading
    rolled: bool
    usual: float | None
    warning: str | None


def reading_view(reading: Reading, consumption: list[int] | None = None) -> dict[str, Any]:
    return {"id": reading.id, "meter_serial": reading.meter_serial, "period": reading.period,
            "values": reading.values, "consumption": consumption,
            "rolled_over": reading.rolled_over, "source": reading.source,
            "status": reading.status, "reason": reading.reason,
            "submitted_at": reading.submitted_at.isoformat()}


class Readings:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.db = deps.db
        self.now = deps.now
        self.window = rules.window_from(deps.config)

    # ---- meters (a copy fed by accounts' events) -----------------------------------------

    def meter_registered(self, payload: dict[str, Any]) -> None:
        meter = self.db.scalar(select(Meter).where(Meter.account_id == payload["account_id"],
                                                   Meter.serial == payload["serial"]))
        if meter is None:
            meter = Meter(account_id=payload["account_id"], serial=payload["serial"])
            self.db.add(meter)
        for field in ("number", "branch", "zones", "digits", "installed_on", "verification_due"):
            setattr(meter, field, payload[field])
        meter.removed_on = None

    def register_meters(self, payloads: list[dict[str, Any]]) -> None:
        """Fill the copy from accounts' answer (meter_registered payloads) for an account or
        meter whose events never came: a registry loaded from CSV publishes none."""
        for payload in payloads:
            self.meter_registered(MeterRegistered().load(payload))

    def knows_account(self, account_id: int) -> bool:
        return self.db.scalar(select(Meter.id).where(Meter.account_id == account_id).limit(1)) \
            is not None

    def _meter_of(self, number: str, branch: str, serial: str) -> Meter | None:
        return self.db.scalar(select(Meter).where(
            Meter.number == number, Meter.branch == branch, Meter.serial == serial))

    def knows_meter(self, number: str, branch: str, serial: str) -> bool:
        """Whether the copy has this meter of account ``number`` in ``branch``."""
        return self._meter_of(number, branch, serial) is not None

    def meter_unregistered(self, payload: dict[str, Any]) -> None:
        meter = self.db.scalar(select(Meter).where(Meter.account_id == payload["account_id"],
                                                   Meter.serial == payload["serial"]))
        if meter is not None:
            meter.removed_on = payload["removed_on"]

    def meters(self, account_id: int) -> list[dict[str, Any]]:
        """The account's meters now in service, with the last reading and the поверка date."""
        out = []
        for meter in self.db.scalars(select(Meter).where(
                Meter.account_id == account_id, Meter.removed_on.is_(None)).order_by(Meter.id)):
            last = self._last(meter, before_period=None)
            out.append({"serial": meter.serial, "zones": meter.zones, "digits": meter.digits,
                        "verification_due": meter.verification_due.isoformat()
                        if meter.verification_due else None,
                        "last_reading": reading_view(last) if last else None})
        return out

    # ---- submitting ----------------------------------------------------------------------

    def _last(self, meter: Meter, before_period: str | None) -> Reading | None:
        query = select(Reading).where(Reading.account_id == meter.account_id,
                                      Reading.meter_serial == meter.serial,
                                      Reading.status.in_(LIVE))
        if before_period is not None:
            query = query.where(Reading.period < before_period)
        return self.db.scalar(query.order_by(Reading.period.desc(), Reading.id.desc()).limit(1))

    def _live_until(self, meter: Meter, period: str) -> list[Reading]:
        """The meter's live readings up to ``period``, oldest first: one query gives the
        previous reading, the history of accepted ones and the period's own."""
        return list(self.db.scalars(select(Reading).where(
            Reading.account_id == meter.account_id, Reading.meter_serial == meter.serial,
            Reading.status.in_(LIVE), Reading.period <= period)
            .order_by(Reading.period, Reading.id)))

    @staticmethod
    def _history_consumption(meter: Meter, readings: list[Reading]) -> list[int]:
        """Monthly consumption between consecutive ``readings`` (accepted, oldest first)."""
        totals = []
        for previous, current in zip(readings, readings[1:]):
            try:
                totals.append(sum(rules.consumption(p, c, meter.digits)[0]
                                  for p, c in zip(previous.values, current.values)))
            except ValueError:
                continue
        return totals

    def _evaluate(self, account_id: int, meter_serial: object, values: object) -> Evaluation:
        """Every rule of a submission but the plausibility confirmation, without storing."""
        if not isinstance(meter_serial, str) or not meter_serial:
            raise ValidationFailed("Выберите счётчик", {"meter_serial": "required"})
        meter = self.db.scalar(select(Meter).where(Meter.account_id == account_id,
                                                   Meter.serial == meter_serial))
        if meter is None:
            raise NotFound("На этом лицевом счёте нет такого счётчика",
                           {"meter_serial": "not on this account"})
        if meter.removed_on is not None:
            raise Gone("Этот счётчик снят, передайте показания нового",
                       {"meter_serial": "meter decommissioned"})
        today = self.window.today(self.now)  # the supplier's date, not UTC's
        if not self.window.is_open(today):
            start, end = self.window.next_opening(today)
            raise ValidationFailed(
                f"Показания принимаются с {start:%d.%m.%Y} по {end:%d.%m.%Y}",
                {"period": f"window closed; next window {start.isoformat()} to {end.isoformat()}"})
        current = rules.check_values(values, meter.zones, meter.digits)
        period = rules.period_of(today)
        live = self._live_until(meter, period)
        earlier = [reading for reading in live if reading.period < period]
        previous = earlier[-1] if earlier else None
        used: list[int] | None = None if previous is None else []
        rolled = False
        for index, value in enumerate(current):
            if previous is None:
                continue
            try:
                amount, zone_rolled = rules.consumption(previous.values[index], value, meter.digits)
            except ValueError:
                raise ValidationFailed(
                    f"Показания меньше предыдущих ({previous.values[index]})",
                    {f"values[{index}]": "less than previous"}) from None
            used.append(amount)
            rolled = rolled or zone_rolled
        usual = rules.average(self._history_consumption(
            meter, [reading for reading in earlier if reading.status == "accepted"]))
        total = sum(used) if used is not None else None
        factor = self.d.config["HIGH_CONSUMPTION_FACTOR"]
        warning = None
        if usual and total is not None and total > factor * usual:
            warning = (f"Расход {total} кВт·ч намного больше обычного ({usual:.0f} кВт·ч в "
                       "месяц). Проверьте показания и подтвердите")
        return Evaluation(meter, period, current, previous,
                          [reading for reading in live if reading.period == period], used,
                          rolled, usual, warning)

    def preview(self, account_id: int, meter_serial: object, values: object) -> dict[str, Any]:
        """What the customer sees before confirming: the consumption per zone, the usual
        monthly consumption and a warning when this is far above it. Nothing is stored."""
        check = self._evaluate(account_id, meter_serial, values)
        return {"meter_serial": check.meter.serial, "period": check.period,
                "values": check.current, "consumption": check.used,
                "total": sum(check.used) if check.used is not None else None,
                "usual": round(check.usual) if check.usual else None,
                "rolled_over": check.rolled, "warning": check.warning,
                "needs_confirm": check.warning is not None}

    def submit(self, user_id: str | None, account_id: int, meter_serial: object, values: object,
               confirm: object = False, photo_id: object = None) -> dict[str, Any]:
        """Check and store a reading for this period; billing hears of it by an event (the
        caller commits: the reading, its event and an idempotency key's answer together).
        With ``photo_id`` (the photo job's) the reading's source is "photo" and the photo is
        kept with it (a photo of several meters backs one reading of each)."""
        photo = None
        if photo_id is not None:
            # Locked: the timer deleting attempts waits, then sees it became a reading.
            photo = (self.db.get(ReadingPhoto, photo_id, with_for_update=True)
                     if isinstance(photo_id, str) else None)
            if photo is None or photo.account_id != account_id:
                raise NotFound("Фото не найдено, прикрепите его снова", {"photo_id": "unknown"})
            used_by = self.db.get(Reading, photo.reading_id) if photo.reading_id else None
            # One photo may show several meters: it backs one reading per meter.
            if used_by is not None and used_by.meter_serial == meter_serial:
                raise Gone("Это фото уже использовано", {"photo_id": "already used"})
            photos.check_fresh(photo, self.d.config, self.now)
        source = "photo" if photo is not None else "manual"
        check = self._evaluate(account_id, meter_serial, values)
        if check.warning is not None and confirm is not True:
            raise ValidationFailed(check.warning, {"confirm": "implausibly high: confirm"})
        meter, period, current, rolled = check.meter, check.period, check.current, check.rolled
        used = check.used
        for earlier in check.same_period:
            earlier.status = "replaced"  # the window is open: the new one counts, both kept
        reading = Reading(account_id=account_id, meter_serial=meter.serial, period=period,
                          t1=current[0], t2=current[1] if len(current) > 1 else None,
                          t3=current[2] if len(current) > 2 else None, rolled_over=rolled,
                          source=source, status="pending", submitted_by=user_id,
                          submitted_at=self.now)
        self.db.add(reading)
        self.db.flush()
        if photo is not None and photo.reading_id is None:
            photo.reading_id = reading.id
        self.d.record("reading_submitted", {
            "reading_id": reading.id, "account_id": account_id, "number": meter.number,
            "branch": meter.branch, "meter_serial": meter.serial, "period": period,
            "values": current, "rolled_over": rolled, "source": source,
            "submitted_at": self.now.isoformat()})
        return {**reading_view(reading, used), "message": "Показания приняты"}

    # ---- billing's decision --------------------------------------------------------------

    def decided(self, payload: dict[str, Any], accepted: bool) -> None:
        reading = self.db.get(Reading, payload["reading_id"])
        if reading is None or reading.status == "replaced":
            return
        reason = payload.get("reason")
        if not accepted and reason not in REJECT_REASONS:
            reason = "duplicate" if reason is None else reason
        reading.status = "accepted" if accepted else "rejected"
        reading.reason = None if accepted else reason
        reading.decided_at = self.now

    def inspector_reading(self, payload: dict[str, Any]) -> None:
        """Billing's reading taken on site by an inspector: accepted as it is, and it
        replaces a reading of the same period still counting in the portal."""
        meter = self._meter_of(payload["number"], payload["branch"], payload["serial"])
        if meter is None:  # the handler dead-letters it: billing must send the meter first
            raise NotFound(f"Unknown meter {payload['serial']}: not in service on account "
                           f"{payload['number']} ({payload['branch']}) in the registry",
                           {"serial": "not on this account"})
        values = rules.check_values(payload["values"], meter.zones, meter.digits)
        period = rules.period_of(payload["taken_on"])
        for earlier in self.db.scalars(select(Reading).where(
                Reading.account_id == meter.account_id, Reading.meter_serial == meter.serial,
                Reading.period == period, Reading.status.in_(LIVE))):
            earlier.status = "replaced"
        taken_at = datetime.combine(payload["taken_on"], time(12), tzinfo=timezone.utc)
        self.db.add(Reading(account_id=meter.account_id, meter_serial=meter.serial,
                            period=period, t1=values[0],
                            t2=values[1] if len(values) > 1 else None,
                            t3=values[2] if len(values) > 2 else None, rolled_over=False,
                            source="inspector", status="accepted", submitted_by=None,
                            submitted_at=taken_at, decided_at=self.now))

    # ---- the bill's meter table ----------------------------------------------------------

    def for_bill(self, account_id: int, period: str, tz: tzinfo) -> list[dict[str, Any]]:
        """Per meter in service during ``period`` (YYYY-MM): the initial reading (the last
        live one before the period) and the final one (the period's live one), each with
        its type as the bill marks it and its date in the supplier's time zone, and the
        consumption between them (None when either is missing)."""
        year, month = (int(part) for part in period.split("-"))
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        out = []
        for meter in self.db.scalars(select(Meter).where(
                Meter.account_id == account_id, Meter.installed_on <= last,
                (Meter.removed_on.is_(None)) | (Meter.removed_on >= first)).order_by(Meter.id)):
            initial = self._last(meter, before_period=period)
            final = self.db.scalar(select(Reading).where(
                Reading.account_id == account_id, Reading.meter_serial == meter.serial,
                Reading.period == period, Reading.status.in_(LIVE))
                .order_by(Reading.id.desc()).limit(1))
            out.append({"serial": meter.serial, "zones": meter.zones,
                        "initial": _bill_reading(initial, tz), "final": _bill_reading(final, tz),
                        "consumption": _used(meter, initial, final)})
        return out

    # ---- the Показания tab ---------------------------------------------------------------

    def history(self, account_id: int, cursor: object = None, limit: object = None
                ) -> dict[str, Any]:
        """Every reading of the account's meters (replaced and rejected too), newest period
        first, a page at a time (shared/paging.py), each with its meter's zones and removal
        day and its consumption against the previous live reading: data for a chart and a
        table. Computed whole (a reading a month per meter) so that consumption crosses pages."""
        rows = []
        for meter in self.db.scalars(select(Meter).where(Meter.account_id == account_id)):
            previous = None
            for reading in self.db.scalars(select(Reading).where(
                    Reading.account_id == account_id, Reading.meter_serial == meter.serial)
                    .order_by(Reading.period, Reading.id)):
                used = _used(meter, previous, reading) if reading.status in LIVE else None
                rows.append({**reading_view(reading, used), "zones": meter.zones,
                             "meter_removed_on": meter.removed_on.isoformat()
                             if meter.removed_on else None})
                if reading.status in LIVE:
                    previous = reading
        rows.sort(key=lambda row: (row["period"], row["id"]), reverse=True)
        return paging.of_list(rows, cursor, limit, lambda row: [row["period"], row["id"]],
                              (str, int), newest_first=True)


def require_int(account_id: object) -> int:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise ValidationFailed("Неверный лицевой счёт", {"account_id": "must be an integer"})
    return account_id



def _used(meter: Meter, earlier: Reading | None, later: Reading | None) -> list[int] | None:
    """Consumption per zone between two readings of a meter (None without both, or when
    the later one is below the earlier without a rollover)."""
    if earlier is None or later is None:
        return None
    try:
        return [rules.consumption(p, c, meter.digits)[0]
                for p, c in zip(earlier.values, later.values)]
    except ValueError:
        return None


def _bill_reading(reading: Reading | None, tz: tzinfo) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {"kind": BILL_KINDS.get(reading.source, reading.source[:6].upper()),
            "date": reading.submitted_at.astimezone(tz).date().isoformat(),
            "values": reading.values}

"""The OCR worker's entry point: bill photo + what the portal knows → fields with states.

``recognise(photo, known)`` is what the OCR worker process calls. Each field comes back as
``{"value", "confidence", "state"}`` with ``state`` one of:
- ``sure``: read and cross-checked; the form may be prefilled with it;
- ``check``: read, but the customer must look at it (a doubtful read, or it disagrees with
  what the portal knows);
- ``not_found``: nothing legible (``value`` is None).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from .extract import read_bill
from .preprocess import PhotoRejected

State = Literal["sure", "check", "not_found"]
# Below this the recogniser's own confidence (its least sure digit) makes a value doubtful.
# At 0.8 one hand-written "4" read as "1" twice (0.84) stayed sure in 104 photos.
SURE_CONFIDENCE = 0.9
# kWh per zone since the previous reading above which a value is implausible (a household
# uses 100–1,500 a month; a missed month or two stays under it)
MAX_USE_PER_ZONE = 3000


class Field(TypedDict):
    value: str | None
    confidence: float
    state: State


@dataclass
class KnownMeter:
    """A meter of the account as the portal knows it."""
    serial: str
    zones: int
    digits: int | None = None             # the register's digit count, if known
    previous: list[int] | None = None     # last accepted reading per zone


@dataclass
class KnownAccount:
    """The account the photo is uploaded for."""
    number: str | None
    meters: list[KnownMeter] = field(default_factory=list)


def not_found() -> Field:
    return {"value": None, "confidence": 0.0, "state": "not_found"}


def _graded(raw: dict | None, sure: bool, least: float = SURE_CONFIDENCE) -> Field:
    if not raw:
        return not_found()
    conf = float(raw["confidence"])
    return {"value": raw["value"], "confidence": conf,
            "state": "sure" if sure and conf >= least else "check"}


def _distance(a: str, b: str) -> int:
    """Edit distance (serials differ by a misread or a lost digit)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _match_meters(read: list[dict], known: list[KnownMeter]) -> list[tuple[KnownMeter | None, bool]]:
    """Per row read: the known meter it is (or None) and whether its serial was read exactly.

    Exact serials first; then a serial within two edits of exactly one meter left; then, if
    one row and one meter are left, they are the same meter (its serial misread or lost)."""
    out: list[tuple[KnownMeter | None, bool]] = [(None, False)] * len(read)
    left = list(known)
    serials = [(m["serial"] or {}).get("value") for m in read]
    for i, s in enumerate(serials):
        hit = next((k for k in left if s and k.serial == s), None)
        if hit is not None:
            out[i] = (hit, True)
            left.remove(hit)
    for i, s in enumerate(serials):
        if out[i][0] is None and s:
            near = [k for k in left if _distance(s, k.serial) <= 2]
            if len(near) == 1:
                out[i] = (near[0], False)
                left.remove(near[0])
    unmatched = [i for i in range(len(read)) if out[i][0] is None]
    if len(unmatched) == 1 and len(left) == 1:
        out[unmatched[0]] = (left[0], False)
    return out


def _plausible(value: str, zone: int, meter: KnownMeter) -> bool:
    """Fits the meter: its digit count, not below the previous reading (save a roll-over),
    not an implausible use since then."""
    if meter.digits and len(value) > meter.digits:
        return False
    if not meter.previous or zone >= len(meter.previous):
        return True
    prev, cur = meter.previous[zone], int(value)
    if cur < prev:
        capacity = 10 ** (meter.digits or len(str(prev)))
        if not (prev >= 0.9 * capacity and cur < 0.1 * capacity):
            return False
        cur += capacity
    return cur - prev <= MAX_USE_PER_ZONE


def _doubts(raw: dict | None, agree: bool, zone: int, meter: KnownMeter | None, fits: bool) -> list[str]:
    """Why a value read is not ``sure`` (empty: it is): the rules that fired, for the log and
    the benchmark. ``meter`` no meter of the account identified, ``zones`` its zone count
    differs, ``second_read`` the second read differs, ``confidence`` a digit below
    SURE_CONFIDENCE, ``implausible`` too many digits or an implausible step from the previous
    reading."""
    if raw is None:
        return ["not_found"]
    why = []
    if meter is None:
        why.append("meter")
    elif not fits:
        why.append("zones")
    if not agree:
        why.append("second_read")
    if float(raw["confidence"]) < SURE_CONFIDENCE:
        why.append("confidence")
    if meter is not None and not _plausible(raw["value"], zone, meter):
        why.append("implausible")
    return why


def grade(found: dict, known: KnownAccount) -> dict[str, Any]:
    """Fields read (``read_words``' result) → Fields with states, checked against ``known``.

    ``sure`` needs, for the account number: the account's own number (a postcode or a bank
    account never is); for a serial: one of the account's meters; for a value: its meter
    identified, the zone count as known, the recogniser confident, a second independent read
    of the same digits, and the value plausible after the previous reading."""
    cands = set(found.get("account_candidates") or ())
    acct = found.get("account_number")
    if known.number and known.number in cands | {(acct or {}).get("value")}:
        conf = acct["confidence"] if acct and acct["value"] == known.number else SURE_CONFIDENCE
        account: Field = {"value": known.number, "confidence": conf, "state": "sure"}
    else:
        account = _graded(acct, False)
    meters = []
    for row, (meter, exact) in zip(found["meters"], _match_meters(found["meters"], known.meters)):
        zones = row["zones"] or 0
        fits = meter is not None and zones == meter.zones
        values: list[Field] = []
        doubts: list[list[str]] = []
        for k in range(max(zones, meter.zones if meter else 0)):
            raw = row["readings"].get(str(k + 1))
            why = _doubts(raw, row.get("agree", {}).get(str(k + 1), False), k, meter, fits)
            values.append(_graded(raw, not why))
            doubts.append(why)
        # read exactly as one of the account's serials: that is no accident, however unsure
        serial = _graded(row["serial"], exact, least=0.0)
        meters.append({"serial": serial, "known_serial": meter.serial if meter else None,
                       "values": values, "doubts": doubts})
    return {"account_number": account, "meters": meters}


def recognise(photo: bytes, known: KnownAccount) -> dict[str, Any]:
    """Read a bill photo and grade every field against ``known``.

    Returns ``{"account_number": Field, "meters": [{"serial": Field, "known_serial": str |
    None, "values": [Field per zone], "doubts": [[rule, ...] per zone]}], "image": {...},
    "timing": {...}}``: one entry per meter row found on the photo, top to bottom;
    ``known_serial`` is the account's meter the row was matched to; ``doubts`` the rules that
    kept each value from ``sure`` (diagnostics, not for the customer). Raises ``PhotoRejected`` for unusable uploads.
    """
    found = read_bill(photo)
    return {**grade(found, known), "image": {**found["image"], "turned": found.get("turned", 0)},
            "timing": found["timing"]}


__all__ = ["Field", "KnownAccount", "KnownMeter", "PhotoRejected", "State", "grade", "recognise"]

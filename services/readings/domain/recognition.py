"""The OCR worker's call of the recognition (services/readings/ocr/recognise.py): what the
portal knows of the account in, the fields read with their states out, as the job keeps them."""
from __future__ import annotations

from typing import Any

from shared.metrics import ocr_timer


def recognise_photo(photo: bytes, number: str | None, meters: list[dict[str, Any]]
                    ) -> dict[str, Any]:
    """The job's result: ``account_number`` and per meter read ``serial`` and ``values`` (each
    ``{value, confidence, state}``, state sure / check / not_found), whether the number is the
    account's (``matches_account``), each row's meter of the account (``meter_serial``, None
    when none matched; ``known`` then False), and the seconds it took. Raises PhotoRejected for a photo that cannot be read at all."""
    from services.readings.ocr.preprocess import PhotoRejected
    from services.readings.ocr.recognise import KnownAccount, KnownMeter, recognise

    known = KnownAccount(number, [KnownMeter(m["serial"], m["zones"], m["digits"], m["previous"])
                                  for m in meters])
    with ocr_timer(rejected=(PhotoRejected,)):
        found = recognise(photo, known)
    serials = {m["serial"] for m in meters}
    account = found["account_number"]
    return {
        "account_number": account,
        "matches_account": account["value"] is not None and account["value"] == number,
        "meters": [_meter(m, serials) for m in found["meters"]],
        "seconds": (found.get("timing") or {}).get("total_s"),
    }


def _meter(row: dict[str, Any], serials: set[str]) -> dict[str, Any]:
    """A meter row read: the account's meter it was matched to (the recognition's
    ``known_serial``, which tolerates a misread digit), else its serial if that is one."""
    serial = row.get("known_serial")
    if serial is None and row["serial"]["value"] in serials:
        serial = row["serial"]["value"]
    return {"serial": row["serial"], "values": row["values"], "meter_serial": serial,
            "known": serial is not None}

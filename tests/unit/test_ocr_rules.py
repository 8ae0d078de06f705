"""The rules of reading a bill photo, as a customer meets them (``recognise``).

A value is ``sure`` (prefilled) only when it is read twice alike and fits what the portal knows
about the meter; everything else is ``check`` (shown for the customer to confirm) or
``not_found``. Few real-model reads (each costs 1–2 s of CPU here): a turned photo and a bill
with two meters; the rest grade fixed reads, without the model.
"""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image  # noqa: E402

from services.readings.ocr.recognise import KnownAccount, KnownMeter, grade, recognise  # noqa: E402

DATA = Path(__file__).parent.parent / "data" / "bills"
PRINTED = next(c for c in json.loads((DATA / "expected.json").read_text())
               if c["file"] == "printed_clean-900.jpg")


def known_for(case: dict, previous: list[int] | None = None, number: str | None = None) -> KnownAccount:
    return KnownAccount(number or case["account_number"], [
        KnownMeter(case["meter_serial"], case["zones"], None,
                   previous if previous is not None else case["initial"][:case["zones"]])])


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def test_a_photo_turned_sideways_without_exif_is_read_right():
    turned = Image.open(DATA / PRINTED["file"]).rotate(90, expand=True)   # no EXIF tag
    res = recognise(_jpeg(turned), known_for(PRINTED))
    assert res["image"]["turned"] == 270   # turned back a quarter clockwise
    assert res["account_number"] == {**res["account_number"], "value": PRINTED["account_number"],
                                      "state": "sure"}
    (meter,) = res["meters"]
    assert meter["serial"]["value"] == PRINTED["meter_serial"] and meter["serial"]["state"] == "sure"
    assert [(v["value"], v["state"]) for v in meter["values"]] == [(str(PRINTED["final"][0]), "sure")]


def test_a_bill_with_two_meters_returns_both_each_with_its_serial():
    from bench.bill_photos import degrade, make_truth, render_bill

    rng = random.Random(5)
    truth = make_truth(rng, hand=False, photo=False, meters=2)
    data, _ = degrade(rng, render_bill(rng, truth), "scan")
    known = KnownAccount(truth.account_number, [KnownMeter(m.serial, m.zones, None, m.initial[:m.zones])
                                                for m in truth.meters])
    res = recognise(data, known)
    assert [m["serial"]["value"] for m in res["meters"]] == [m.serial for m in truth.meters]
    for got, want in zip(res["meters"], truth.meters):
        assert [v["value"] for v in got["values"]] == [str(v) for v in want.final]
        assert {v["state"] for v in got["values"]} == {"sure"}


# --- grading without the model: what was read → what may be prefilled ----------------------


def read(value: str = "7458", agree: bool = True, account: str = "491233834",
         candidates: tuple[str, ...] = ("491233834", "352570", "40702810")) -> dict:
    """What ``read_bill`` returns for PRINTED, with the final reading and account as given."""
    return {"account_number": {"value": account, "confidence": 0.97},
            "account_candidates": list(candidates),
            "meters": [{"serial": {"value": "979510710", "confidence": 0.99}, "zones": 1,
                        "readings": {"1": {"value": value, "confidence": 0.99}, "2": None, "3": None},
                        "agree": {"1": agree}}]}


def states(graded: dict) -> list[str]:
    return [v["state"] for v in graded["meters"][0]["values"]]


def test_a_value_read_twice_alike_that_fits_the_meter_is_sure():
    assert states(grade(read(), known_for(PRINTED))) == ["sure"]


def test_a_value_below_the_previous_reading_is_not_sure():
    assert states(grade(read(), known_for(PRINTED, previous=[7500]))) == ["check"]


def test_an_implausible_monthly_use_is_not_sure():
    assert states(grade(read("97458"), known_for(PRINTED, previous=[7220]))) == ["check"]


def test_a_value_the_second_read_disagrees_with_is_not_sure():
    assert states(grade(read(agree=False), known_for(PRINTED))) == ["check"]


def test_values_of_a_meter_not_on_the_account_are_not_sure():
    other = KnownAccount(PRINTED["account_number"], [KnownMeter("555000111", 1), KnownMeter("555000222", 1)])
    graded = grade(read(), other)
    assert graded["meters"][0]["serial"]["state"] == "check"
    assert states(graded) == ["check"]


def test_a_wrong_account_number_is_never_sure():
    # the postcode read where the account number should be
    graded = grade(read(account="352570"), known_for(PRINTED, number="123456789"))
    assert graded["account_number"]["state"] == "check"
    assert graded["account_number"]["value"] == "352570"


def test_the_accounts_own_number_anywhere_above_the_table_is_sure():
    # the topmost "…: digits" was a bank account's prefix; the account's number is also there
    graded = grade(read(account="40702810"), known_for(PRINTED))
    assert graded["account_number"]["value"] == PRINTED["account_number"]
    assert graded["account_number"]["state"] == "sure"


def test_each_value_not_sure_says_which_rule_kept_it_so():
    graded = grade(read("97458", agree=False), known_for(PRINTED, previous=[7220]))
    assert graded["meters"][0]["doubts"] == [["second_read", "implausible"]]
    low = read()
    low["meters"][0]["readings"]["1"]["confidence"] = 0.8
    assert grade(low, known_for(PRINTED))["meters"][0]["doubts"] == [["confidence"]]
    assert grade(read(), known_for(PRINTED))["meters"][0]["doubts"] == [[]]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_boxes_turn_with_the_page_without_a_second_detection(k):
    import numpy as np
    from rapidocr.ch_ppocr_det import TextDetector

    from services.readings.ocr.engine import Detection, RapidOcrEngine

    eng = object.__new__(RapidOcrEngine)   # no models: only the boxes' geometry is tested
    eng._det = TextDetector   # type: ignore[assignment]   # sorted_boxes is a static method
    image = np.zeros((60, 100, 3), np.uint8)
    image[10:20, 30:70] = 255   # one "line", boxed exactly
    box = ((30.0, 10.0), (69.0, 10.0), (69.0, 19.0), (30.0, 19.0))
    turned = eng.turned(Detection(image, [box]), k)
    assert turned.image.shape[:2] == np.rot90(image, k).shape[:2]
    (q,) = turned.boxes
    xs, ys = [p[0] for p in q], [p[1] for p in q]
    assert (q[0][0], q[0][1]) == (min(xs), min(ys)) and (q[2][0], q[2][1]) == (max(xs), max(ys))
    assert turned.image[int(min(ys)):int(max(ys)) + 1, int(min(xs)):int(max(xs)) + 1].min() == 255

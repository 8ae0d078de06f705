"""A tiny OCR engine for tests of the photo plumbing (jobs, queue, workers), not of recognition.

Select it in an OCR worker process with ``NESK_OCR_ENGINE=tests.fakes.ocr_engine:FakeOcrEngine``.
What it "reads" on any image is a bill's account line and meter rows laid out as the generator
prints them, from the JSON file named by ``FAKE_OCR_SCRIPT`` (read at each photo, so a test
changes it between uploads): ``{"number": "300000001", "meters": [{"serial": "...",
"initial": [3000], "final": [3200]}], "delay": 0}``. ``delay`` seconds are slept first (a
slow photo, for killing a worker mid-job); ``"fail": true`` raises (a broken engine).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from services.readings.ocr.engine import ImageLike, Word

H = 20.0  # text height, px


def _word(text: str, x0: float, y: float, width: float | None = None) -> Word:
    x1 = x0 + (width if width is not None else 12 * len(text))
    return Word(text, 0.99, ((x0, y - H / 2), (x1, y - H / 2), (x1, y + H / 2), (x0, y + H / 2)))


def words_of(script: dict[str, Any]) -> list[Word]:
    out = [_word(f"Лицевой счет: {script['number']}", 100, 100)]
    for row, meter in enumerate(script.get("meters", [])):
        y = 500 + 60 * row
        out += [_word(meter["serial"], 40, y, 160), _word("01.11.26", 310, y, 60),
                _word("01.12.26", 710, y, 60)]
        for k, value in enumerate(meter["initial"]):
            out.append(_word(str(value), 410 + 80 * k, y, 60))
        for k, value in enumerate(meter["final"]):
            out.append(_word(str(value), 810 + 80 * k, y, 60))
    return out


class FakeOcrEngine:
    name = "fake"

    def read(self, image: ImageLike) -> list[Word]:
        with open(os.environ["FAKE_OCR_SCRIPT"], encoding="utf-8") as f:
            script = json.load(f)
        time.sleep(float(script.get("delay", 0)))
        if script.get("fail"):
            raise RuntimeError("the fake engine was told to fail")
        return words_of(script)

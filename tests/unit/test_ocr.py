"""Bill-photo OCR on a tiny fixed set (tests/data/bills, made by bench/bill_photos.py).

The hand-written pair was chosen among generated photos with 2+ zones that the pipeline reads
right (the bench measures the real rate, DESIGN.md §5); so this test guards regressions, not
accuracy. Printed photos must be exact. Reading in stages (only the boxes that matter) must give
the answer reading every box gives; synthetic bills check which boxes get read.
"""
from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image  # noqa: E402

from services.readings.ocr import (Detection, PhotoRejected, Word, engine as engine_mod,  # noqa: E402
                                   extract, read_bill, read_words)
from services.readings.ocr.preprocess import MAX_BYTES, prepare  # noqa: E402

DATA = Path(__file__).parent.parent / "data" / "bills"
CASES = json.loads((DATA / "expected.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_reads_bill(case):
    res = read_bill((DATA / case["file"]).read_bytes())
    assert res["account_number"]["value"] == case["account_number"]
    assert res["meter_serial"]["value"] == case["meter_serial"]
    for k in range(3):
        got = res["readings"][str(k + 1)]
        if k < case["zones"]:
            assert got["value"] == str(case["final"][k])
            assert 0.0 <= got["confidence"] <= 1.0
        else:
            assert got is None
    assert res["zones"] == case["zones"]


def test_not_an_image():
    with pytest.raises(PhotoRejected) as e:
        read_bill(b"%PDF-1.7\n" + b"0" * 1000)
    assert isinstance(e.value, ValueError)
    assert e.value.field == "photo" and e.value.reason == "unsupported_type"


def test_renamed_text_is_not_a_jpeg():
    with pytest.raises(PhotoRejected) as e:
        read_bill(b"\xff\xd8\xff" + b"not really a jpeg" * 100)
    assert e.value.reason == "unreadable"


def test_oversize_file():
    with pytest.raises(PhotoRejected) as e:
        read_bill(b"\xff\xd8\xff" + b"\0" * MAX_BYTES)
    assert e.value.reason == "too_large"


def test_heic_accepted():
    buf = io.BytesIO()
    Image.open(DATA / CASES[0]["file"]).save(buf, "HEIF", quality=60)
    assert prepare(buf.getvalue()).format == "HEIF"


def test_too_many_pixels():
    buf = io.BytesIO()
    Image.new("L", (8000, 6000), 255).save(buf, "PNG")  # 48 Mpx, tiny file
    with pytest.raises(PhotoRejected) as e:
        read_bill(buf.getvalue())
    assert e.value.reason == "too_many_pixels"


def test_png_accepted_and_exif_rotation_undone():
    img = Image.open(DATA / CASES[0]["file"])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert prepare(buf.getvalue()).format == "PNG"
    # a phone held sideways: pixels rotated, EXIF Orientation=6 says "rotate back"
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", exif=exif)
    prep = prepare(buf.getvalue())
    assert prep.image.shape[1] > prep.image.shape[0]  # landscape again


# --- reading in stages: what is recognised, and that it changes no answer ---------------------


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_staged_reading_gives_the_answer_of_reading_every_box(case):
    engine = engine_mod.get_engine()
    image = prepare((DATA / case["file"]).read_bytes()).image
    staged, read, found = read_words(engine, image)
    every = extract(engine.read(image))
    for key in ("account_number", "meter_serial", "zones"):
        assert staged[key] == every[key]
    assert staged["readings"] == every["readings"]
    assert read < found


def _box(x0: float, y0: float, x1: float, y1: float):
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _word(text: str, x0: float, y0: float, x1: float, h: float = 24, chars_at=None) -> Word:
    chars = []
    if chars_at:  # per-character boxes centred at these x
        chars = [(c, 0.99, _box(x - 6, y0, x + 6, y0 + h)) for c, x in zip(text, chars_at)]
    return Word(text, 0.99, _box(x0, y0, x1, y0 + h), chars)


class FakeStaged:
    """A staged engine over fixed words; remembers which boxes it was asked to read."""
    name = "fake"

    def __init__(self, words: list[Word]):
        self.words = words
        self.asked: list[int] = []

    def read(self, image):
        return list(self.words)

    def detect(self, image):
        self.detection = Detection(None, [w.box for w in self.words])
        return self.detection

    def recognise(self, detection, indices):
        if detection is not self.detection:   # the second read of the values: nothing legible
            return [None] * len(indices)
        self.asked += indices
        return [self.words[i] for i in indices]


def same_answer(staged: dict, every: dict) -> bool:
    """Reading in stages adds what only it knows (the second reads' agreement, the turn), and
    sees fewer numbers above the table (the lines it skips)."""
    if not set(staged["account_candidates"]) <= set(every["account_candidates"]):
        return False
    staged = {k: v for k, v in staged.items() if k not in ("turned", "account_candidates")}
    every = {k: v for k, v in every.items() if k != "account_candidates"}
    staged["meters"] = [{k: v for k, v in m.items() if k != "agree"} for m in staged["meters"]]
    return staged == every


def _bill(account_line: Word) -> list[Word]:
    return [
        _word(" : 10.12.2018", 500, 20, 740),                      # "Оплатить до: ..."
        account_line,
        _word(" : 2308091759, /: 40702810", 60, 100, 760),          # bank details: a long line
        _word("12345678", 100, 300, 200),                           # serial
        _word("KO Ha 01.11.18", 240, 300, 360),
        _word("1000", 440, 300, 490),                               # initial, zone 1
        _word("KO Ha 01.12.18", 700, 300, 820),
        _word("1100", 900, 300, 950),                               # final, zone 1: narrow
        _word("     :12345678", 60, 500, 560),                      # footer: a long line
    ]


def test_long_lines_below_the_account_are_not_read():
    words = _bill(_word(" : 123456789", 300, 60, 560))
    engine = FakeStaged(words)
    res, read, found = read_words(engine, None)
    assert res["account_number"]["value"] == "123456789"
    assert res["meter_serial"]["value"] == "12345678"
    assert res["readings"]["1"]["value"] == "1100"
    assert sorted(engine.asked) == [0, 1, 3, 4, 5, 6, 7]       # not the bank line nor the footer
    assert (read, found) == (7, 9)
    assert same_answer(res, extract(words))


def test_an_account_in_a_long_line_is_found_by_reading_more():
    # label and number merged into one long box, ":" read as ";": the first step finds no
    # account, so every box above the table is read; the topmost number wins, not the bank's
    words = _bill(_word("  :   ; 123456789", 60, 60, 700))
    engine = FakeStaged(words)
    res, _, _ = read_words(engine, None)
    assert res["account_number"]["value"] == "123456789"
    assert 2 in engine.asked and 8 not in engine.asked
    assert same_answer(res, extract(words))


def test_a_character_read_by_two_overlapping_boxes_counts_once():
    # two hand-written readings touching the cell line: both boxes read the "3" at the seam
    words = [
        _word("KO Ha 01.05.25", 240, 300, 360, h=26),
        _word("936", 440, 300, 480, h=26),
        _word("31415", 530, 300, 580, h=26),
        _word("KO Ha 01.06.25", 700, 300, 820, h=26),
        _word("14323", 886, 290, 986, h=57, chars_at=[898, 916, 934, 960, 980]),
        _word("32258", 978, 296, 1063, h=45, chars_at=[986, 1002, 1017, 1039, 1055]),
    ]
    res = extract(words)
    assert [res["readings"][k] and res["readings"][k]["value"] for k in "123"] == ["1432", "32258", None]


def test_engine_loaded_once_per_process(monkeypatch):
    made = []

    def factory():
        made.append(1)
        time.sleep(0.05)  # a slow load: other threads ask meanwhile
        return FakeStaged([])

    monkeypatch.setattr(engine_mod, "_engine", None)
    monkeypatch.setattr(engine_mod, "_factory", factory)
    with ThreadPoolExecutor(8) as pool:
        engines = list(pool.map(lambda _: engine_mod.get_engine(), range(16)))
    assert len(made) == 1
    assert all(e is engines[0] for e in engines)

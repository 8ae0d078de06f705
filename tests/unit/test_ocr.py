"""Bill-photo OCR on a tiny fixed set (tests/data/bills, made by bench/bill_photos.py).

The hand-written pair was chosen among generated photos with 2+ zones that the pipeline reads
right (the bench measures the real rate, DESIGN.md §5); so this test guards regressions, not
accuracy. Printed photos must be exact.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image  # noqa: E402

from services.readings.ocr import PhotoRejected, read_bill  # noqa: E402
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

"""Bill-photo OCR benchmark: accuracy per category, seconds per photo, peak memory.

    python -m bench.ocr_bills [--n 40] [--seed 7] [--baseline-n 10] [--det-side 960] [--threads N]

Generates N photos per category (bench/bill_photos.py, in a child process, into a temp dir),
runs ``read_bill`` on each and counts a photo as right only if the account number, the serial
and ALL final readings are exact. Per photo it times the wall clock and the CPU time of this
process (every onnxruntime thread included: on a shared box the CPU time is the steadier
figure). Peak memory is this process's ru_maxrss, and only the pipeline runs in it.

The baseline, in a separate process with its own peak: rapidocr as shipped (angle classifier on,
max_side_len 2000, every box recognised) on the unprocessed photo, with the same extraction.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.bill_photos import CATEGORIES
from services.readings.ocr import engine as eng_mod
from services.readings.ocr.extract import read_bill, read_words

TARGETS = {"printed": 0.98, "hand": 0.90, "median_s": 1.0, "peak_mb": 600}
ROOT = Path(__file__).resolve().parent.parent


def correct(res: dict, truth: dict) -> bool:
    def val(f):
        return f["value"] if f else None
    if val(res["account_number"]) != truth["account_number"]:
        return False
    if val(res["meter_serial"]) != truth["meter_serial"]:
        return False
    for k in range(3):
        want = str(truth["final"][k]) if k < truth["zones"] else None
        if val(res["readings"][str(k + 1)]) != want:
            return False
    return True


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RapidOcrDefaults:
    """rapidocr 3.10 as shipped, with the wheel's models: the baseline."""

    name = "rapidocr-defaults"

    def __init__(self) -> None:
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).parent / "models"
        self._ocr = RapidOCR(params={
            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
            "Global.log_level": "warning"})

    def read(self, image: Any) -> list[eng_mod.Word]:
        out = self._ocr(np.ascontiguousarray(np.asarray(image)[:, :, ::-1]))  # BGR, as cv2 loads
        if out.boxes is None or out.txts is None:
            return []
        return [eng_mod.Word(t, float(s), tuple((float(x), float(y)) for x, y in b[:4]))
                for b, t, s in zip(out.boxes, out.txts, out.scores)]


def run_baseline(folder: str, cases: list[dict]) -> dict:
    """In its own process (spawned): rapidocr's defaults on the raw photos."""
    from PIL import Image

    engine = RapidOcrDefaults()
    rows: dict[str, list] = {}
    for case in cases:
        wall, cpu = time.perf_counter(), time.process_time()
        img = Image.open(Path(folder) / case["file"]).convert("RGB")
        res = read_words(engine, img)[0]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.setdefault(case["category"], []).append((correct(res, case), wall, cpu))
    return {"rows": rows, "peak_mb": peak_mb()}


def table(rows: dict[str, list]) -> list[float]:
    """Print one line per category; return every photo's wall time."""
    print(f"{'category':16} {'all right':>9} {'median s':>9} {'p90 s':>7} {'median CPU s':>13}")
    walls = []
    for cat, items in rows.items():
        ok = [r[0] for r in items]
        w = [r[1] for r in items]
        c = [r[2] for r in items]
        walls += w
        print(f"{cat:16} {sum(ok) / len(ok):9.1%} {statistics.median(w):9.2f} "
              f"{float(np.percentile(w, 90)):7.2f} {statistics.median(c):13.2f}")
    return walls


def run(n: int, seed: int, baseline_n: int, verbose: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bills-"))
    # The generator's own buffers (~240 MB) would count in this process's peak: a child makes them.
    subprocess.run([sys.executable, "-m", "bench.bill_photos", str(tmp), "--n", str(n), "--seed", str(seed)],
                   cwd=ROOT, check=True)
    cases = json.loads((tmp / "expected.json").read_text())
    print(f"photos in {tmp}; {n} per category; seed {seed}; load average {os.getloadavg()[0]:.2f}")
    rows: dict[str, list] = {}
    misses = []
    boxes = []
    for case in cases:
        data = (tmp / case["file"]).read_bytes()
        wall, cpu = time.perf_counter(), time.process_time()
        res = read_bill(data)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        good = correct(res, case)
        rows.setdefault(case["category"], []).append((good, wall, cpu))
        boxes.append((res["timing"]["boxes_read"], res["timing"]["boxes_found"]))
        if not good:
            misses.append((case, res))
    pipeline_peak = peak_mb()
    walls = table(rows)
    cpus = [r[2] for items in rows.values() for r in items]
    print(f"{'all':16} {'':9} {statistics.median(walls):9.2f} {float(np.percentile(walls, 90)):7.2f} "
          f"{statistics.median(cpus):13.2f}")
    print(f"boxes recognised per photo (median): {statistics.median(b[0] for b in boxes):.0f} "
          f"of {statistics.median(b[1] for b in boxes):.0f} found")
    print(f"pipeline peak RSS {pipeline_peak:.0f} MB")
    if verbose:
        for case, res in misses:
            got = (res["account_number"] and res["account_number"]["value"],
                   res["meter_serial"] and res["meter_serial"]["value"],
                   [v and v["value"] for v in res["readings"].values()])
            print(f"  miss {case['file']}: want {case['account_number']} {case['meter_serial']} "
                  f"{case['final']} got {got}")

    if baseline_n:
        picked = [c for cat in CATEGORIES for c in [x for x in cases if x["category"] == cat][:baseline_n]]
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            base = pool.apply(run_baseline, (str(tmp), picked))
        print(f"baseline (rapidocr defaults, raw photo, same extraction), {baseline_n} per category, "
              f"own process:")
        table(base["rows"])
        print(f"baseline peak RSS {base['peak_mb']:.0f} MB")
    pr = min(sum(r[0] for r in rows[c]) / len(rows[c]) for c in ("printed_clean", "printed_photo"))
    hw = min(sum(r[0] for r in rows[c]) / len(rows[c]) for c in ("hand_clean", "hand_photo"))
    med = statistics.median(walls)
    print("targets:")
    print(f"  printed  >= {TARGETS['printed']:.0%}: worst {pr:.1%} {'OK' if pr >= TARGETS['printed'] else 'MISSED'}")
    print(f"  hand     >= {TARGETS['hand']:.0%}: worst {hw:.1%} {'OK' if hw >= TARGETS['hand'] else 'MISSED'}")
    print(f"  median   <  {TARGETS['median_s']} s: {med:.2f} s {'OK' if med < TARGETS['median_s'] else 'MISSED'}")
    print(f"  peak RSS <  {TARGETS['peak_mb']} MB: {pipeline_peak:.0f} MB "
          f"{'OK' if pipeline_peak < TARGETS['peak_mb'] else 'MISSED'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40, help="photos per category")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--baseline-n", type=int, default=10,
                   help="photos per category for the baseline (0: none)")
    p.add_argument("--det-side", type=int, default=960, help="long side of the page the detector sees")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: one per core)")
    p.add_argument("-v", "--verbose", action="store_true", help="list the photos read wrong")
    a = p.parse_args()
    eng_mod.set_engine_factory(lambda: eng_mod.RapidOcrEngine(det_side=a.det_side, threads=a.threads or None))
    run(a.n, a.seed, a.baseline_n, a.verbose)


if __name__ == "__main__":
    main()

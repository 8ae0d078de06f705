"""Bill-photo OCR benchmark: accuracy per category, seconds per photo, peak memory.

    python -m bench.ocr_bills [--n 40] [--seed 7] [--max-side 1280] [--baseline-n 10]

Generates N photos per category (bench/bill_photos.py, in a temp dir), runs ``read_bill`` and
counts a photo as right only if the account number, the serial and ALL final readings are
exact. The baseline in the same run: the raw engine with rapidocr's defaults (angle classifier
on, max_side_len 2000) on the unprocessed photo, with the same extraction.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.bill_photos import CATEGORIES, generate
from services.readings.ocr import engine as eng_mod
from services.readings.ocr.extract import extract, read_bill

TARGETS = {"printed": 0.98, "hand": 0.90, "median_s": 1.0, "peak_mb": 600}


def correct(res: dict, truth) -> bool:
    def val(f):
        return f["value"] if f else None
    if val(res["account_number"]) != truth.account_number:
        return False
    if val(res["meter_serial"]) != truth.meter_serial:
        return False
    for k in range(3):
        want = str(truth.final[k]) if k < truth.zones else None
        if val(res["readings"][str(k + 1)]) != want:
            return False
    return True


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, seed: int, baseline_n: int, verbose: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bills-"))
    rows = {}
    misses = []
    for cat in CATEGORIES:
        ok, times = 0, []
        for i in range(n):
            data, truth = generate(cat, seed * 100000 + i)
            (tmp / f"{cat}-{i:03d}.jpg").write_bytes(data)
            t = time.perf_counter()
            res = read_bill(data)
            times.append(time.perf_counter() - t)
            good = correct(res, truth)
            ok += good
            if not good:
                misses.append((cat, i, truth, res))
        rows[cat] = (ok / n, statistics.median(times), float(np.percentile(times, 90)))
    pipeline_peak = peak_mb()
    print(f"photos in {tmp}; {n} per category; seed {seed}")
    print(f"{'category':16} {'all right':>9} {'median s':>9} {'p90 s':>7}")
    for cat, (acc, med, p90) in rows.items():
        print(f"{cat:16} {acc:9.1%} {med:9.2f} {p90:7.2f}")
    all_t = [r[1] for r in rows.values()]
    print(f"pipeline peak RSS {pipeline_peak:.0f} MB")
    if verbose:
        for cat, i, truth, res in misses:
            got = (res["account_number"] and res["account_number"]["value"],
                   res["meter_serial"] and res["meter_serial"]["value"],
                   [v and v["value"] for v in res["readings"].values()])
            print(f"  miss {cat}#{i}: want {truth.account_number} {truth.meter_serial} {truth.final} got {got}")

    if baseline_n:
        base = eng_mod.RapidOcrEngine(defaults=True)
        print(f"baseline (rapidocr defaults, raw photo, same extraction), {baseline_n} per category:")
        for cat in CATEGORIES:
            ok, times = 0, []
            for i in range(baseline_n):
                data, truth = generate(cat, seed * 100000 + i)
                t = time.perf_counter()
                img = Image.open(tmp / f"{cat}-{i:03d}.jpg").convert("RGB")
                res = extract(base.read(img))
                times.append(time.perf_counter() - t)
                ok += correct(res, truth)
            print(f"{cat:16} {ok / baseline_n:9.1%} {statistics.median(times):9.2f} "
                  f"{float(np.percentile(times, 90)):7.2f}")
        print(f"peak RSS with both engines loaded {peak_mb():.0f} MB")
    pr = min(rows["printed_clean"][0], rows["printed_photo"][0])
    hw = min(rows["hand_clean"][0], rows["hand_photo"][0])
    med = statistics.median(all_t)
    print("targets:")
    print(f"  printed  >= {TARGETS['printed']:.0%}: worst {pr:.1%} {'OK' if pr >= TARGETS['printed'] else 'MISSED'}")
    print(f"  hand     >= {TARGETS['hand']:.0%}: worst {hw:.1%} {'OK' if hw >= TARGETS['hand'] else 'MISSED'}")
    print(f"  median   <  {TARGETS['median_s']} s: {med:.2f} s {'OK' if med < TARGETS['median_s'] else 'MISSED'}")
    print(f"  peak RSS <  {TARGETS['peak_mb']} MB: {pipeline_peak:.0f} MB "
          f"{'OK' if pipeline_peak < TARGETS['peak_mb'] else 'MISSED'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--baseline-n", type=int, default=10)
    p.add_argument("--max-side", type=int, default=1280)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    eng_mod.set_engine_factory(lambda: eng_mod.RapidOcrEngine(max_side_len=a.max_side,
                                                              threads=a.threads or None))
    run(a.n, a.seed, a.baseline_n, a.verbose)


if __name__ == "__main__":
    main()

"""Bill-photo OCR robustness benchmark: per degradation and category, what comes back how.

    python -m bench.ocr_bills [--n 3] [--seed 7] [--short] [--workers 1,2] [-v]

Generates photos (bench/bill_photos.py, in a child process, into a temp dir): every category
(printed, hand-written, the project's own PDF bill rendered and photographed, 2–3 meters) under
every degradation (scan, photo, the turns 90/180/270 without EXIF, a turn with EXIF, skew 15°,
strong perspective, a shadow, glare, 800 px wide, JPEG q12–22, margins cropped off). Each photo
is read by ``recognise`` in a worker process (the model loaded once per process, as in the OCR
worker), with the ``KnownAccount`` the portal would give: the account number, the meters'
serials and zones, the previous reading = the bill's initial reading.

Every field the bill holds (the account number, each meter's serial, each zone's final reading)
is counted as: ``sure`` and right, ``check`` (right or not), **wrong but ``sure``** (the failure
that must not happen), or not found. Per photo: "all sure" = every field right and ``sure``.
Then median/p90 wall and CPU seconds per photo, the peak RSS of each worker, and the throughput
of a pool of 1 and of 2 workers over the same photos. ``--short``: fewer degradations and
one photo each (make test runs none of this).
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
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

TARGETS = {"wrong_sure": 1 / 200, "sure_right": 0.95, "median_s": 1.0, "peak_mb": 600}
ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = ("sure", "check", "wrong_sure", "not_found")


def known_of(case: dict) -> Any:
    from services.readings.ocr.recognise import KnownAccount, KnownMeter

    return KnownAccount(case["account_number"], [
        KnownMeter(m["serial"], m["zones"], None, m["initial"][:m["zones"]]) for m in case["meters"]])


def grade(field: dict | None, want: str) -> str:
    """One field's outcome: sure (and right), check, wrong_sure, not_found."""
    if not field or field["state"] == "not_found" or field["value"] is None:
        return "not_found"
    if field["state"] == "check":
        return "check"
    return "sure" if field["value"] == want else "wrong_sure"


def grade_photo(res: dict, case: dict) -> dict[str, list[tuple[str, str, str | None]]]:
    """Outcomes per kind of field: account, serial, reading → [(outcome, want, got)]."""
    out: dict[str, list] = {"account": [], "serial": [], "reading": []}
    acc = res["account_number"]
    out["account"].append((grade(acc, case["account_number"]), case["account_number"], acc and acc["value"]))
    by_serial = {m["serial"]["value"]: m for m in res["meters"] if m["serial"]["value"]}
    rest = [m for m in res["meters"]]
    for i, truth in enumerate(case["meters"]):
        got = by_serial.get(truth["serial"])
        if got is None:   # match by position among the rows not matched by serial
            unmatched = [m for m in rest if m["serial"]["value"] not in
                         {t["serial"] for t in case["meters"]}]
            got = unmatched[0] if unmatched else None
        if got is not None:
            rest.remove(got)
        s = got["serial"] if got else None
        out["serial"].append((grade(s, truth["serial"]), truth["serial"], s and s["value"]))
        for k in range(truth["zones"]):
            v = got["values"][k] if got and k < len(got["values"]) else None
            out["reading"].append((grade(v, str(truth["final"][k])), str(truth["final"][k]), v and v["value"]))
    for extra in rest:   # a row the bill does not have: its sure values are wrong
        for v in extra["values"]:
            if v["state"] == "sure":
                out["reading"].append(("wrong_sure", "", v["value"]))
    return out


_case_dir = ""


def _init(folder: str, det_side: int, threads: int) -> None:
    global _case_dir
    from services.readings.ocr import engine as eng_mod

    _case_dir = folder
    eng_mod.set_engine_factory(lambda: eng_mod.RapidOcrEngine(det_side=det_side, threads=threads or None))
    eng_mod.get_engine()   # loaded once per worker, before the first photo


def _read(case: dict) -> dict:
    from services.readings.ocr.recognise import recognise

    data = (Path(_case_dir) / case["file"]).read_bytes()
    wall, cpu = time.perf_counter(), time.process_time()
    res = recognise(data, known_of(case))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"file": case["file"], "res": res, "wall": wall, "cpu": cpu, "pid": os.getpid(),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _ping(_: int) -> int:
    return os.getpid()


def run_pool(folder: str, cases: list[dict], workers: int, det_side: int, threads: int) -> tuple[list[dict], float]:
    """Read every case in a pool of worker processes; return the results and the seconds taken
    from the first photo handed out (model loading excluded)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(folder, det_side, threads)) as pool:
        pool.map(_ping, range(workers * 4))   # all workers up, models loaded
        t0 = time.perf_counter()
        results = pool.map(_read, cases, chunksize=1)
        return results, time.perf_counter() - t0


def _pct(n: int, total: int) -> str:
    return f"{n / total:6.1%}" if total else "     -"


def report(cases: list[dict], results: list[dict], verbose: bool) -> dict:
    """Print the table per category and per degradation; return the outcome counts per kind."""
    by_file = {r["file"]: r for r in results}
    groups: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    photos: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    wrong = []
    doubts: dict[str, int] = defaultdict(int)   # the rules that left values to `check`
    for case in cases:
        got = by_file[case["file"]]
        for m in got["res"]["meters"]:
            for v, why in zip(m["values"], m.get("doubts", [])):
                if v["state"] == "check":
                    doubts[f"{case['category']}: {'+'.join(why)}"] += 1
        g = grade_photo(got["res"], case)
        all_sure = all(o == "sure" for items in g.values() for o, _, _ in items)
        for key in (("category", case["category"]), ("degradation", case["degradation"])):
            photos[key][0] += all_sure
            photos[key][1] += 1
            times[key].append(got["wall"])
            for kind, items in g.items():
                for o, want, value in items:
                    groups[key][kind][o] += 1
                    groups[key][kind]["exact"] += value == want
        for kind, items in g.items():
            for o, want, value in items:
                totals[kind][o] += 1
                totals[kind]["exact"] += value == want
                if o == "wrong_sure" or (verbose and o != "sure"):
                    wrong.append((case["file"], kind, o, want, value))
    print(f"{'':22} {'photos':>6} {'all sure':>8} | readings: {'exact':>6} {'sure':>6} {'check':>6} "
          f"{'WRONG':>6} {'none':>6} | account | serials | median s  p90 s")
    for key in sorted(photos, key=lambda k: (k[0] != "category", k)):
        n_ok, n = photos[key]
        r = groups[key]["reading"]
        rt = sum(r[o] for o in OUTCOMES)
        a, s = groups[key]["account"], groups[key]["serial"]
        print(f"{key[0][:3]} {key[1]:18} {n:6} {_pct(n_ok, n):>8} | {'':9} "
              + " ".join(f"{_pct(r[o], rt):>6}" for o in ("exact", *OUTCOMES))
              + f" | {_pct(a['sure'], sum(a[o] for o in OUTCOMES)):>7} "
              f"| {_pct(s['sure'], sum(s[o] for o in OUTCOMES)):>7} "
              f"| {statistics.median(times[key]):8.2f} {float(np.percentile(times[key], 90)):6.2f}")
    print("sure = sure and right; WRONG = wrong but sure; all sure = every field of the photo sure and right")
    print("all fields:")
    for kind, t in totals.items():
        n = sum(t[o] for o in OUTCOMES)
        sure_total = t["sure"] + t["wrong_sure"]
        print(f"  {kind:8} {n:5}: exact {_pct(t['exact'], n)}, sure&right {_pct(t['sure'], n)}, "
              f"check {_pct(t['check'], n)}, not found {_pct(t['not_found'], n)}, "
              f"wrong-but-sure {t['wrong_sure']} ({_pct(t['wrong_sure'], sure_total)} of sure)")
    print("values left to check, by the rules that fired: "
          + ", ".join(f"{k} {n}" for k, n in sorted(doubts.items(), key=lambda kv: -kv[1])))
    for item in wrong:
        print(f"  {item[2]:10} {item[0]} {item[1]}: want {item[3]} got {item[4]}")
    return totals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=3, help="photos per category and degradation")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--short", action="store_true", help="8 degradations, 1 photo each (~32 photos)")
    p.add_argument("--workers", default="1,2", help="pool sizes whose throughput is measured")
    p.add_argument("--det-side", type=int, default=960, help="long side of the page the detector sees")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads per worker (0: one per core)")
    p.add_argument("--dir", help="read the photos in this folder (made earlier) instead")
    p.add_argument("-v", "--verbose", action="store_true", help="list every field not sure and right")
    a = p.parse_args()
    n = 1 if a.short and a.n == 3 else a.n
    folder = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bills-"))
    if not a.dir:
        # the generator's buffers must not count in a worker's peak: a child process makes them
        subprocess.run([sys.executable, "-m", "bench.bill_photos", str(folder), "--n", str(n),
                        "--seed", str(a.seed), *(["--short"] if a.short else [])], cwd=ROOT, check=True)
    cases = json.loads((folder / "expected.json").read_text())
    made = "made earlier" if a.dir else f"seed {a.seed}"
    print(f"{len(cases)} photos in {folder} ({made}); load average {os.getloadavg()[0]:.2f}")
    pools = [int(w) for w in a.workers.split(",") if w]
    first, took = run_pool(str(folder), cases, pools[0], a.det_side, a.threads)
    totals = report(cases, first, a.verbose)
    walls = [r["wall"] for r in first]
    cpus = [r["cpu"] for r in first]
    peaks: dict[int, float] = {}
    for r in first:
        peaks[r["pid"]] = max(peaks.get(r["pid"], 0), r["peak_mb"])
    print(f"seconds per photo (pool of {pools[0]}): median {statistics.median(walls):.2f}, "
          f"p90 {float(np.percentile(walls, 90)):.2f}; CPU median {statistics.median(cpus):.2f}")
    print(f"peak RSS per worker: {', '.join(f'{v:.0f} MB' for v in peaks.values())}")
    print(f"throughput, pool of {pools[0]}: {len(cases) / took:.2f} photos/s")
    for w in pools[1:]:
        _, took_w = run_pool(str(folder), cases, w, a.det_side, a.threads)
        print(f"throughput, pool of {w}: {len(cases) / took_w:.2f} photos/s "
              f"(load average {os.getloadavg()[0]:.2f})")
    r = totals["reading"]
    sure = r["sure"] + r["wrong_sure"]
    rate = r["wrong_sure"] / sure if sure else 0.0
    share = r["sure"] / max(1, sum(r[o] for o in OUTCOMES))
    med = statistics.median(walls)
    peak = max(peaks.values())
    print("targets:")
    print(f"  wrong among sure readings <= 1/200: {r['wrong_sure']} of {sure} "
          f"{'OK' if rate <= TARGETS['wrong_sure'] else 'MISSED'}")
    print(f"  readings sure and right >= 95%: {share:.1%} {'OK' if share >= TARGETS['sure_right'] else 'MISSED'}")
    print(f"  median < 1.0 s: {med:.2f} s {'OK' if med < TARGETS['median_s'] else 'MISSED'}")
    print(f"  peak RSS per worker < 600 MB: {peak:.0f} MB {'OK' if peak < TARGETS['peak_mb'] else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Benchmark: the account registry's first load (services/accounts/registry_import.py).

    .venv/bin/python bench/import_registry.py [--accounts 1000000] [--postgres]
                                              [--batch-size 5000] [--keep]

It generates, in a temp folder, a CSV of N accounts in the import's format (deterministic
seed; about 10 % of the accounts have two meters, about 7 % none), then measures, each in a
fresh child process (so each peak RSS is its own):

* baseline: ``csv.reader`` over the file, no database (what reading alone costs);
* import into a fresh SQLite file, then the same import again (the idempotent re-run);
* with ``--postgres``: the same into a fresh PostgreSQL database on 127.0.0.1 (user postgres;
  ``BENCH_POSTGRES_DSN`` / ``BENCH_POSTGRES_URL`` override), dropped afterwards.

It prints rows/s, seconds, peak RSS (VmHWM; ``ru_maxrss`` too, which in a child starts at
its parent's peak) and RSS sampled along the run (flat memory: the samples stop growing),
and checks the target "1,000,000 accounts in under 5 minutes" (scaled to N). It reports; it
does not assert. The temp folder (CSV and SQLite file) is removed at exit unless ``--keep``.
"""
from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 300.0
TARGET_ACCOUNTS = 1_000_000
SEED = 20261125
PG_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN",
                              "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")

SURNAMES = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
            "Новиков", "Морозов", "Волков", "Ткаченко", "Бондаренко", "Коваленко", "Шевченко",
            "Кравченко", "Сидоренко", "Гончаренко", "Мельников", "Захаров", "Зайцев", "Павлов",
            "Семенов", "Голубев", "Виноградов", "Богданов", "Воробьев", "Федоров", "Михайлов"]
MALE = ["Иван", "Сергей", "Алексей", "Николай", "Дмитрий", "Андрей", "Павел", "Виктор",
        "Михаил", "Александр", "Владимир", "Юрий", "Олег", "Евгений"]
FEMALE = ["Елена", "Ольга", "Мария", "Анна", "Татьяна", "Наталья", "Ирина", "Светлана",
          "Людмила", "Галина", "Екатерина", "Валентина"]
PATRONYMIC_ROOTS = ["Иван", "Сергеев", "Алексеев", "Николаев", "Петров", "Андреев", "Викторов",
                    "Михайлов", "Александров", "Владимиров", "Юрьев", "Павлов"]
STREETS = ["ул. Красная", "ул. Ленина", "ул. Садовая", "ул. Мира", "ул. Советская",
           "ул. Северная", "ул. Кирова", "ул. Шевченко", "ул. Пушкина", "ул. Гагарина",
           "ул. Октябрьская", "ул. Набережная", "пер. Школьный", "ул. Кубанская",
           "ул. Ставропольская", "ул. Первомайская", "ул. Степная", "ул. Ореховая"]
VILLAGES = ["ст. Платнировская", "х. Садовый", "ст. Воронежская", "п. Знаменский",
            "ст. Владимирская", "х. Ленина", "ст. Григорьевская", "п. Степной"]
TARIFFS = ["urban"] * 12 + ["rural"] * 5 + ["electric_stove"] * 2 + ["electric_heating"]
ZONES = [1] * 14 + [2] * 5 + [3]


def generate(path: Path, accounts: int, seed: int = SEED) -> tuple[int, int]:
    """Write the CSV; returns (rows, meters)."""
    from services.accounts.domain import branches as branch_config
    from services.accounts.registry_import import COLUMNS

    rnd = random.Random(seed)
    branches = branch_config.load()["branches"]
    rows = meters = 0
    base = date(2000, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(accounts):
            b = i % len(branches)
            branch = branches[b]
            number = f"{2301 + b:04d}{i:08d}"
            if rnd.random() < 0.5:
                holder = (f"{rnd.choice(SURNAMES)} {rnd.choice(MALE)} "
                          f"{rnd.choice(PATRONYMIC_ROOTS)}ович")
            else:
                holder = (f"{rnd.choice(SURNAMES)}а {rnd.choice(FEMALE)} "
                          f"{rnd.choice(PATRONYMIC_ROOTS)}овна")
            tariff = rnd.choice(TARIFFS)
            place = rnd.choice(VILLAGES) if tariff == "rural" else f"г. {branch['city']}"
            address = f"{place}, {rnd.choice(STREETS)} д.{rnd.randint(1, 250)}"
            if tariff != "rural" and rnd.random() < 0.6:
                address += f" кв.{rnd.randint(1, 180)}"
            contract_date = base + timedelta(days=rnd.randint(0, 7300))  # to 2019
            account = [number, branch["code"], holder, address, f"{b + 1:02d}-{i:08d}",
                       contract_date.isoformat() if i % 4 else contract_date.strftime("%d.%m.%Y"),
                       f"{b + 3:02d}AK{i:06d}-01"[:40], tariff]
            draw = rnd.random()
            count = 0 if draw < 0.07 else 2 if draw < 0.17 else 1
            if count == 0:
                writer.writerow(account + ["", "", "", "", ""])
                rows += 1
            for _ in range(count):
                installed = contract_date + timedelta(days=rnd.randint(0, 2000))
                serial = f"{rnd.randint(10 ** 7, 10 ** 13 - 1)}"
                if rnd.random() < 0.3:  # as printed on a bill
                    serial = f"{serial[:-4]} {serial[-4:]}"
                writer.writerow(account + [serial, rnd.choice(ZONES), rnd.choice((5, 6)),
                                           installed.isoformat(),
                                           installed.replace(year=installed.year + 16)
                                           .isoformat()])  # 16 years: Feb 29 stays valid
                rows += 1
                meters += 1
    return rows, meters


# ---- child phases (each in its own process) -----------------------------------------------

def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _phase(kind: str, file: Path, url: str, batch_size: int) -> dict[str, Any]:
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append(_rss_kib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if kind == "baseline":
        rows = 0
        with file.open("r", encoding="utf-8-sig", newline="") as handle:
            for _ in csv.reader(handle, delimiter=";"):
                rows += 1
        out["rows"] = rows - 1
    else:
        from services.accounts.registry_import import import_registry

        errors: list[str] = []
        result = import_registry(file, url, batch_size=batch_size, progress=False,
                                 report=errors.append)
        out.update(rows=result.rows, accounts=result.accounts, meters=result.meters,
                   bad_rows=result.bad_rows, accounts_changed=result.accounts_changed,
                   meters_changed=result.meters_changed)
        out["counts"] = _counts(url)
    out["seconds"] = time.perf_counter() - started
    stop.set()
    # ru_maxrss survives exec: a child starts with its parent's high-water mark (the bench
    # after generating the file), so VmHWM, which is the child's own, is the figure to read.
    out["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_rss_mib"] = _vm_hwm_kib() / 1024
    if samples:
        n = len(samples)
        out["rss_mib_at"] = {f"{q}%": round(samples[min(n - 1, n * q // 100)] / 1024, 1)
                             for q in (10, 25, 50, 75, 100)}
    return out


def _counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("accounts", "meters")}
    engine.dispose()
    return counts


def _run_child(kind: str, file: Path, url: str, batch_size: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--file", str(file),
                           "--url", url, "--batch-size", str(batch_size)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- orchestration ------------------------------------------------------------------------

def _line(name: str, r: dict[str, Any], data_rows: int) -> str:
    rate = data_rows / r["seconds"] if r["seconds"] else 0
    rss = " ".join(f"{k}={v}" for k, v in r.get("rss_mib_at", {}).items())
    return (f"{name:<22} {r['seconds']:8.1f} s  {rate:>10,.0f} rows/s  "
            f"peak RSS {r['peak_rss_mib']:4.0f} MiB (ru_maxrss {r['ru_maxrss_mib']:.0f})  "
            f"RSS along the run (MiB): {rss}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=TARGET_ACCOUNTS)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_phase(args.child, args.file, args.url, args.batch_size)))
        return 0

    folder = Path(tempfile.mkdtemp(prefix="nesk-bench-registry-"))
    if not args.keep:
        atexit.register(shutil.rmtree, folder, True)
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs; temp folder {folder}")
    file = folder / "registry.csv"
    started = time.perf_counter()
    rows, meters = generate(file, args.accounts)
    print(f"generated {args.accounts:,} accounts, {meters:,} meters, {rows:,} rows, "
          f"{file.stat().st_size / 2 ** 20:.0f} MiB in {time.perf_counter() - started:.1f} s")

    target = TARGET_SECONDS * args.accounts / TARGET_ACCOUNTS
    results: list[tuple[str, dict[str, Any]]] = []
    baseline = _run_child("baseline", file, "", args.batch_size)
    results.append(("baseline csv.reader", baseline))
    print(_line("baseline csv.reader", baseline, rows), flush=True)

    targets: list[tuple[str, str]] = [("sqlite", f"sqlite:///{folder / 'accounts.db'}")]
    admin = None
    pg_name = f"nesk_bench_{uuid.uuid4().hex[:8]}"
    if args.postgres:
        import psycopg2

        admin = psycopg2.connect(PG_ADMIN_DSN)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{pg_name}"')
        targets.append(("postgresql", f"{PG_URL_BASE}/{pg_name}"))
    try:
        for backend, url in targets:
            for run in ("import", "re-run"):
                r = _run_child("import", file, url, args.batch_size)
                name = f"{backend} {run}"
                results.append((name, r))
                print(_line(name, r, rows), flush=True)
                print(f"{'':<22} {r['accounts']:,} accounts, {r['meters']:,} meters read; "
                      f"{r['accounts_changed']:,} / {r['meters_changed']:,} written; "
                      f"{r['bad_rows']} bad rows; tables: {r['counts']}; "
                      f"DB cost over baseline {r['seconds'] - baseline['seconds']:.1f} s",
                      flush=True)
                if r["counts"] != {"accounts": args.accounts, "meters": meters}:
                    print(f"{'':<22} UNEXPECTED table counts (want {args.accounts:,} accounts,"
                          f" {meters:,} meters)")
    finally:
        if admin is not None:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.close()

    print(f"\ntarget: {args.accounts:,} accounts in under {target:.0f} s "
          f"(5 minutes per 1,000,000)")
    for name, r in results[1:]:
        verdict = "PASS" if r["seconds"] < target else "FAIL"
        print(f"  {verdict} {name}: {r['seconds']:.1f} s "
              f"({r['seconds'] / baseline['seconds']:.1f}x the csv.reader baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make test`'s runner: the suites as separate pytest processes, a few at a time.

Most of an integration module's time is spent waiting (the broker, the databases, the
services' start), so two processes on a 2-core machine finish the whole in about half the
time of one. Each process has its own RabbitMQ vhost and databases (tests/conftest.py), so
they never see each other's messages. The browser suite is one job (it runs without eventlet,
NESK_E2E=1); every integration module is a job of its own; the longest go first.

    python -m tests.run_suites [--jobs N] [path ...]

A job's output is printed when it ends (in full when it failed); the exit status is 1 when any
job failed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Rough minutes of each long job on a quiet 2-core machine: the order the pool takes them in
# (what is missing here counts as short).
LONG = {"tests/e2e": 5.0, "tests/unit": 1.5, "tests/integration/test_registration.py": 1.2,
        "tests/integration/test_readings.py": 1.2, "tests/integration/test_accounts.py": 1.0,
        "tests/integration/test_idempotency.py": 0.8, "tests/integration/test_identity_data.py": 0.8,
        "tests/integration/test_payments.py": 0.7, "tests/deploy": 0.7,
        "tests/integration/test_fuzz.py": 0.9}


@dataclass
class Job:
    path: str
    env: dict[str, str]
    status: int | None = None
    output: str = ""
    seconds: float = 0.0


def default_jobs() -> list[Job]:
    """The browser suite, the unit and deploy suites, and one job per integration module."""
    jobs = [Job("tests/e2e", {"NESK_E2E": "1"}), Job("tests/unit", {}), Job("tests/deploy", {})]
    jobs += [Job(str(p.relative_to(ROOT)), {})
             for p in sorted((ROOT / "tests" / "integration").glob("test_*.py"))]
    return sorted(jobs, key=lambda job: -LONG.get(job.path, 0.1))


def run(job: Job, lock: threading.Lock) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           job.path], cwd=ROOT, env={**os.environ, **job.env},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job.status, job.output = done.returncode, done.stdout
    job.seconds = time.monotonic() - started
    lines = job.output.strip().splitlines()
    with lock:
        # 5: no tests collected (a module whose tests all skip itself out)
        if job.status in (0, 5):
            print(f"{job.path}: {lines[-1] if lines else 'no output'} ({job.seconds:.0f} s)",
                  flush=True)
        else:
            print(f"\n===== {job.path} FAILED ({job.seconds:.0f} s) =====\n{job.output}",
                  flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    parser.add_argument("paths", nargs="*", help="instead of every suite")
    args = parser.parse_args(argv)
    jobs = ([Job(p, {"NESK_E2E": "1"} if p.startswith("tests/e2e") else {}) for p in args.paths]
            or default_jobs())
    pending = list(jobs)
    lock = threading.Lock()
    started = time.monotonic()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop(0)
            run(job, lock)

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [job.path for job in jobs if job.status not in (0, 5)]
    print(f"\n{len(jobs) - len(failed)} of {len(jobs)} suites passed in "
          f"{time.monotonic() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed
                                                    else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

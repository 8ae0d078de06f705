"""Load on the write paths (issue 15): reading submissions and card payments through the
whole system, next to a plain baseline running the same domain code, measured in the same run.

Per mode (``--db`` × ``--replicas``) a system is started as ``make run`` starts it
(bench/load_system.py: a vhost and databases of its own, a registry generated and imported
with the accounts CLI, customers registered and linked through the API), then per client
level, interleaved so both see the same machine:

* readings, ours:     POST /api/v1/accounts/{id}/readings through the gateway and the bus;
* readings, baseline: the same ``Readings.submit`` in a plain Flask app (bench/load_baseline.py);
* payments, ours:     POST /api/v1/payments, then the sandbox's card form (paid);

and at the highest level ``GET /api/v1/auth/me`` against the baseline's ``GET /me``. A billing
subscriber (a durable queue bound to readings.events and payments.events) gives the delay from
each answer to its event and counts lost and duplicated events. Each row has throughput,
latency p50/p90/p99 and CPU ms per request by process (psutil: gateway workers, each service
process, RabbitMQ's beam.smp, the PostgreSQL backends of the run's databases), and with two
replicas the events each relay sent. A table against the issue's targets ends the run.

    .venv/bin/python -m bench.load [--db sqlite,postgres] [--replicas 1,2] [--clients 1,8,32]
        [--duration 10] [--warmup 2] [--accounts 2000] [--profile] [--short] [--json out.json]

Needs RabbitMQ (AMQP_URI, RABBIT_MANAGEMENT_URI) and, for ``--db postgres``, PostgreSQL on
127.0.0.1:5432 (user postgres, trust); everything made is removed at exit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_measure import (CLIENT, Call, CpuMeter, Result, Subscriber,  # noqa: E402
                                closed_loop, postgres_backends, tree)
from bench.load_profile import Profiler  # noqa: E402
from bench.load_report import print_mode, print_targets  # noqa: E402
from bench.load_system import (REPLICATED, Customer, LoadStack, customers,  # noqa: E402
                               make_vhost, start_baseline, start_stack)
from bench.payments import PgDatabases  # noqa: E402 - a database per name, dropped at the end
from tests.e2e.stack import SERVICES  # noqa: E402

AMQP = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/")
CARD: dict[str, Any] = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
API = "/api/v1"
FULL = {"db": "sqlite,postgres", "replicas": "1,2", "clients": "1,8,32", "duration": 10.0,
        "warmup": 2.0, "accounts": 2000}
SHORT = {"db": "sqlite", "replicas": "1", "clients": "1,4", "duration": 2.0, "warmup": 0.5,
         "accounts": 50}


class Clients:
    """The HTTP calls of the clients: one keep-alive session per client thread and system."""

    def __init__(self, people: list[Customer], gateway: str, baseline: str) -> None:
        self.people, self.gateway, self.baseline = people, gateway, baseline
        self.local = threading.local()

    def _session(self, system: str) -> requests.Session:
        session = getattr(self.local, system, None)
        if session is None:
            session = requests.Session()
            setattr(self.local, system, session)
        return session

    def _auth(self, i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.people[i].token}"}

    def reading(self, system: str) -> Call:
        def call(i: int, n: int) -> tuple[int, Any, str | None]:
            c = self.people[i]
            body: dict[str, Any] = {"meter_serial": c.serial, "values": [1000 + n], "confirm": True}
            if system == "ours":
                r = self._session(system).post(
                    f"{self.gateway}{API}/accounts/{c.account_id}/readings", json=body,
                    headers={**self._auth(i), "Idempotency-Key": str(uuid.uuid4())},
                    timeout=60)
            else:
                r = self._session(system).post(
                    f"{self.baseline}/accounts/{c.account_id}/readings", json=body, timeout=60)
            if r.status_code != 201:
                return r.status_code, None, r.text[:200]
            return 201, r.json()["id"] if system == "ours" else None, None
        return call

    def payment(self) -> Call:
        def call(i: int, n: int) -> tuple[int, Any, str | None]:
            session, key = self._session("ours"), str(uuid.uuid4())
            r = session.post(f"{self.gateway}{API}/payments", timeout=60, json={
                "idempotency_key": key, "items": [{"account_id": self.people[i].account_id,
                                                   "kind": "electricity", "amount": "10.00"}]},
                headers={**self._auth(i), "Idempotency-Key": key})
            url = (r.json().get("action") or {}).get("confirmation_url") \
                if r.status_code == 201 else None
            if not url:
                return r.status_code, None, r.text[:200]
            paid = session.post(f"{self.gateway}{API}/payments/sandbox/"
                                f"{url.rstrip('/').rsplit('/', 1)[-1]}", json=CARD,
                                headers=self._auth(i), timeout=60)
            if paid.status_code != 200 or paid.json().get("status") != "succeeded":
                return paid.status_code, None, paid.text[:200]
            return 200, paid.json()["id"], None
        return call

    def me(self, system: str) -> Call:
        url = f"{self.gateway}{API}/auth/me" if system == "ours" else f"{self.baseline}/me"

        def call(i: int, n: int) -> tuple[int, Any, str | None]:
            r = self._session(system).get(url, headers=self._auth(i), timeout=60)
            return r.status_code, None, None if r.status_code == 200 else r.text[:200]
        return call


def run_mode(db: str, replicas: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One system (``db``, ``replicas``) and its baseline, every level measured."""
    levels = [int(c) for c in args.clients.split(",")]
    var = Path(tempfile.mkdtemp(prefix="bench-load-"))
    amqp_uri, vhost = make_vhost(AMQP, MANAGEMENT)
    pg = PgDatabases() if db == "postgres" else None
    stack: LoadStack | None = None
    baseline = None
    rows: list[dict[str, Any]] = []
    try:
        databases = {f"{s.upper()}_DATABASE_URL": pg.create(s) for s in SERVICES} if pg else {}
        if pg:  # 8 service processes with 2 replicas: 6 connections each fit in 100
            databases.update(DB_POOL_SIZE="3", DB_MAX_OVERFLOW="3")
        t0 = time.monotonic()
        stack = start_stack(var, amqp_uri, replicas, databases, args.accounts)
        people = customers(stack, max(levels), args.accounts)
        base_db = pg.create("baseline") if pg else f"sqlite:///{var / 'baseline.db'}"
        baseline, base_url = start_baseline(stack, base_db)
        print(f"\n## {db}, {replicas} replica(s) of {', '.join(REPLICATED)}: ready in "
              f"{time.monotonic() - t0:.0f} s, {len(people)} customers, load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        subscriber = Subscriber(amqp_uri)
        subscriber.start()
        clients = Clients(people, stack.gateway, base_url)
        ours_dbs = [n for n in (pg.names if pg else []) if not n.endswith("_baseline")]
        me = psutil.Process()
        groups: dict[str, Callable[[], dict[str, Any]]] = {
            "ours": lambda: {**stack.process_groups(ours_dbs), CLIENT: [me]},
            "baseline": lambda: {"baseline": tree(baseline.pid), CLIENT: [me],
                                 **({"postgres": postgres_backends([base_db.rsplit("/", 1)[1]])}
                                    if pg else {})}}
        profiler = Profiler(var) if args.profile else None
        plan = [(n, "readings", s) for n in levels for s in ("ours", "baseline")]
        plan += [(n, "payments", "ours") for n in levels]
        plan += [(max(levels), "auth_me", s) for s in ("ours", "baseline")]
        for n, scenario, system in plan:
            call = (clients.reading(system) if scenario == "readings" else
                    clients.payment() if scenario == "payments" else clients.me(system))
            rows.append(measure(stack, subscriber, groups[system], call, system, scenario, n,
                                args, profiler if (scenario, system) == ("readings", "ours")
                                else None))
            rows[-1].update(db=db, replicas=replicas)
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        subscriber.close()
        if profiler is not None:
            print(profiler.report())
        print_mode(rows)
    finally:
        if baseline is not None:
            baseline.terminate()
            baseline.wait(15)
        if stack is not None:
            stack.stop()
        if pg is not None:
            pg.drop()
        requests.delete(vhost, timeout=10)
        if args.keep_var:
            print(f"# kept {var}")
        else:
            shutil.rmtree(var, ignore_errors=True)
    return rows


def measure(stack: LoadStack, subscriber: Subscriber, find: Callable[[], dict[str, Any]],
            call: Call, system: str, scenario: str, clients: int, args: argparse.Namespace,
            profiler: Profiler | None) -> dict[str, Any]:
    """One closed loop: its row with CPU per request, events and per-replica counts."""
    cpu = CpuMeter(find)
    service = scenario if scenario in REPLICATED else None
    replicas = [p for p in stack.metrics_ports if service and p.split("-")[0] == service]
    counts = {p: _replica_counts(stack, p) for p in replicas}
    dup_before = subscriber.duplicated_events()

    def window(opening: bool) -> None:
        cpu.window(opening)
        if opening and profiler is not None:
            profiler.start(stack.pid("readings"), args.duration)

    result: Result = closed_loop(system, scenario, call, clients, args.duration, args.warmup,
                                 window)
    row = result.row()
    row["cpu_ms"] = cpu.per_request(len(result.latencies))
    if result.error_samples:
        row["error_samples"] = result.error_samples
    if system == "ours" and service:
        subscriber.wait_for(list(result.done))
        row.update(result.events(subscriber))
        row["duplicated_event_ids"] = subscriber.duplicated_events() - dup_before
        after = {p: _replica_counts(stack, p) for p in replicas}
        for i, key in enumerate(("relayed_by", "rpc_served_by")):
            row[key] = {p: int(after[p][i] - counts[p][i]) for p in replicas}
    return row


def _replica_counts(stack: LoadStack, process: str) -> tuple[float, float]:
    """Events this process's relay sent, RPC calls it served (warm-up and tail included)."""
    return (stack.metric(process, "nesk_bench_relayed_total"),
            stack.metric(process, "nesk_workers_total", kind="rpc"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="sqlite, postgres or both (default both)")
    parser.add_argument("--replicas", help="processes of readings and payments (default 1,2)")
    parser.add_argument("--clients", help="closed-loop client levels (default 1,8,32)")
    parser.add_argument("--duration", type=float, help="measured seconds per loop (10)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring (2)")
    parser.add_argument("--accounts", type=int, help="accounts in the registry (2000)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy on the readings process; the top functions")
    parser.add_argument("--short", action="store_true",
                        help="a smoke check; defaults SQLite, 1 replica, 1 and 4 clients, "
                             "2 s loops, 50 accounts")
    parser.add_argument("--json", help="write every row to this file too")
    parser.add_argument("--keep-var", action="store_true", help="keep the temp folders")
    args = parser.parse_args(argv)
    defaults = (SHORT if args.short else FULL)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _interrupt(_signum: int, _frame: Any) -> None:
    """SIGTERM ends the run like Ctrl-C: the finally blocks remove what was made."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    rows: list[dict[str, Any]] = []
    for db in args.db.split(","):
        for replicas in [int(r) for r in args.replicas.split(",")]:
            rows += run_mode(db, replicas, args)
    print_targets(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

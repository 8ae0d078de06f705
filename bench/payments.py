"""Benchmark: penalties and balances for many accounts, and the payment flow through the gateway.

    .venv/bin/python -m bench.payments [--accounts 100000] [--processes 2]
        [--statement-accounts 2000] [--duration 5] [--warmup 1] [--concurrency 1,8]
        [--parts domain,statement,gateway] [--seed 7] [--keep-var]

Three parts, each beside a baseline measured in the same run:

* domain: for N accounts with a year of charges (2025-11..2026-10, 300-5000 RUB) and a
  year of payments (on time, late, partial, never, one period named), the balance
  (``penalties.allocate``) and the penalties (``penalties.compute``) with the shipped key
  rates and decrees. Baselines: a plain Decimal sum (charges - payments) and ``allocate``
  alone. ``--processes P`` runs it again on P processes.
* statement: the same through the service's ``ledger.Statement`` on a temp SQLite payments
  database (a session per account, as one RPC), for a smaller sample.
* gateway: on a vhost and temp VAR_DIR of its own, auth, accounts and payments under
  shared.runner and the gateway under gunicorn (as ``make run``), PAYMENT_PROVIDER=sandbox;
  C clients each pay 10 RUB in a loop: POST /payments, then the sandbox card form.
  Baselines: GET /accounts/<id>/debt and GET /healthz.

A benchmark reports; it does not assert. The exit code is 0 unless the set-up failed.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import atexit
import http.client
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.auth_gateway import (API, HOST, PASSWORD, PHONE, Cleanup, Client, SetupFailed,
                                cpu_snapshot, fmt, free_port, log_tail, make_vhost,
                                percentile, register_user, start, wait_http, wait_services)
from bench.import_registry import PG_ADMIN_DSN, PG_URL_BASE
from services.payments.domain import calendar, penalties
from services.payments.domain.key_rates import KeyRateTable, load_key_rates

ROOT = Path(__file__).resolve().parent.parent
PAYMENTS_MIGRATIONS = ROOT / "services" / "payments" / "migrations"

PERIODS = tuple(f"{2025 + (10 + i) // 12}-{(10 + i) % 12 + 1:02d}" for i in range(12))
UNTIL = date(2026, 11, 30)  # the calculation day: the last bill is due on 2026-11-16
# Share of accounts per payment behaviour over the year.
BEHAVIOURS = {"on_time": 45, "late": 20, "partial": 15, "never": 10, "named": 10}
CHUNK = 2000  # accounts generated and measured at a time: memory stays flat

# The gateway part: the demo registry's sample bill (README) and the sandbox's paying card.
DEMO_ACCOUNT = {"number": "123456789", "branch": "mostovskoy", "proof": "2333"}
CARD = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
PAY_AMOUNT = "10.00"
TOKEN_MAX_AGE = 480  # s; access tokens live 600 s
SERVICES = ("auth", "accounts", "payments")


# ---------------------------------------------------------------------------------------------
# Generated accounts: deterministic per (seed, chunk), so every process and part sees the same.
# ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Account:
    behaviour: str
    charges: list[penalties.Charge]
    payments: list[penalties.Payment]


def rub(kopecks: int) -> Decimal:
    return Decimal(kopecks).scaleb(-2)  # exponent -2: whole kopecks, as the module demands


def make_account(rng: random.Random, behaviour: str, due: Sequence[date], until: date) -> Account:
    cents = [rng.randint(30_000, 500_000) for _ in PERIODS]
    charges = [penalties.Charge(p, rub(c)) for p, c in zip(PERIODS, cents)]
    pays: list[tuple[date, int, str | None]] = []
    skipped = rng.randrange(len(PERIODS)) if behaviour == "named" else -1
    for i, (c, d) in enumerate(zip(cents, due)):
        if behaviour in ("on_time", "named") and i != skipped:
            # A third round up to whole hundreds of roubles: the surplus is an advance.
            amount = c if rng.random() < 0.67 else -(-c // 10_000) * 10_000
            pays.append((d - timedelta(days=rng.randint(0, 9)), amount, None))
        elif behaviour == "named":  # the skipped bill, paid late naming its period
            pays.append((d + timedelta(days=rng.randint(40, 150)), c, PERIODS[i]))
        elif behaviour == "late":
            pays.append((d + timedelta(days=rng.randint(5, 120)), c, None))
        elif behaviour == "partial":
            pays.append((d + timedelta(days=rng.randint(-5, 5)),
                         max(1, c * rng.randint(30, 90) // 100), None))
    payments = [penalties.Payment(on, rub(k), period) for on, k, period in pays if on <= until]
    return Account(behaviour, charges, payments)


def generate(seed: int, chunk: int, size: int, until: date) -> list[Account]:
    rng = random.Random(seed * 1_000_003 + chunk)
    due = [calendar.due_date(p) for p in PERIODS]
    names, weights = list(BEHAVIOURS), list(BEHAVIOURS.values())
    return [make_account(rng, rng.choices(names, weights)[0], due, until) for _ in range(size)]


def chunks(total: int) -> list[tuple[int, int]]:
    return [(i, min(CHUNK, total - i * CHUNK)) for i in range((total + CHUNK - 1) // CHUNK)]


# ---------------------------------------------------------------------------------------------
# Part 1: pure domain code.
# ---------------------------------------------------------------------------------------------

@dataclass
class Clock:
    """Wall and CPU seconds summed over the chunks (this process is single-threaded)."""

    wall: float = 0.0
    cpu: float = 0.0

    def add(self, w0: float, c0: float) -> None:
        self.wall += time.perf_counter() - w0
        self.cpu += time.process_time() - c0


@dataclass
class DomainTotals:
    accounts: int = 0
    generate: Clock = field(default_factory=Clock)
    phases: dict[str, Clock] = field(default_factory=lambda: {
        "sum": Clock(), "allocate": Clock(), "full": Clock()})
    by_behaviour: dict[str, list[Any]] = field(default_factory=dict)  # [n, Clock, penalties]
    balance: dict[str, Decimal] = field(default_factory=dict)  # per phase, to cross-check
    debt: Decimal = Decimal(0)
    penalties: Decimal = Decimal(0)
    with_penalty: int = 0


def measure_chunk(accounts: list[Account], rates: KeyRateTable, rules: penalties.PenaltyRules,
                  until: date, totals: DomainTotals) -> None:
    """The three phases over one chunk, one after the other, so load on the box hits all."""
    ph, zero = totals.phases, Decimal(0)
    w0, c0 = time.perf_counter(), time.process_time()
    floor = zero
    for a in accounts:
        floor += sum(c.amount for c in a.charges) - sum(p.amount for p in a.payments)
    ph["sum"].add(w0, c0)

    w0, c0 = time.perf_counter(), time.process_time()
    owed = zero
    for a in accounts:
        alloc = penalties.allocate(a.charges, a.payments, rules)
        owed += sum(alloc.outstanding.values()) - alloc.credit
    ph["allocate"].add(w0, c0)

    # The service's statement: the balance by period and the penalties (ledger.Statement.of).
    groups: dict[str, list[Account]] = {}
    for a in accounts:
        groups.setdefault(a.behaviour, []).append(a)
    full = zero
    for behaviour, group in groups.items():
        w0, c0 = time.perf_counter(), time.process_time()
        fined = zero
        for a in group:
            alloc = penalties.allocate(a.charges, a.payments, rules)
            result = penalties.compute(a.charges, a.payments, until, rates, rules)
            full += sum(alloc.outstanding.values()) - alloc.credit
            fined += result.total
            totals.debt += result.debt
            totals.with_penalty += result.total > 0
        row = totals.by_behaviour.setdefault(behaviour, [0, Clock(), zero])
        row[1].add(w0, c0)
        ph["full"].add(w0, c0)
        row[0] += len(group)
        row[2] += fined
        totals.penalties += fined
    for name, value in (("sum", floor), ("allocate", owed), ("full", full)):
        totals.balance[name] = totals.balance.get(name, zero) + value
    totals.accounts += len(accounts)


def run_domain(n: int, seed: int, until: date) -> DomainTotals:
    rates, rules = load_key_rates(), penalties.load_rules()  # loaded once, as the service does
    totals = DomainTotals()
    for index, size in chunks(n):
        w0, c0 = time.perf_counter(), time.process_time()
        accounts = generate(seed, index, size, until)
        totals.generate.add(w0, c0)
        measure_chunk(accounts, rates, rules, until, totals)
    return totals


_WORKER: dict[str, Any] = {}


def _worker_init(seed: int, until: date) -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):  # not main()'s handlers: Pool ends us so
        signal.signal(signum, signal.SIG_DFL)
    _WORKER.update(rates=load_key_rates(), rules=penalties.load_rules(), seed=seed, until=until)


def _worker_chunk(job: tuple[int, int]) -> tuple[float, float, int]:
    """Generate one chunk and compute its balances and penalties; (wall s, CPU s, accounts)."""
    index, size = job
    w = _WORKER
    accounts = generate(w["seed"], index, size, w["until"])
    w0, c0 = time.perf_counter(), time.process_time()
    for a in accounts:
        penalties.allocate(a.charges, a.payments, w["rules"])
        penalties.compute(a.charges, a.payments, w["until"], w["rates"], w["rules"])
    return time.perf_counter() - w0, time.process_time() - c0, len(accounts)


def run_parallel(n: int, seed: int, until: date, processes: int) -> tuple[float, float, float]:
    """Generation + balances + penalties over P processes: (wall s, summed worker s, CPU s)."""
    ctx = multiprocessing.get_context("fork")  # workers inherit the imported modules
    w0 = time.perf_counter()
    with ctx.Pool(processes, _worker_init, (seed, until)) as pool:
        parts = pool.map(_worker_chunk, chunks(n), chunksize=1)
    return time.perf_counter() - w0, sum(p[0] for p in parts), sum(p[1] for p in parts)


def report_domain(t: DomainTotals, parallel: tuple[int, tuple[float, float, float]] | None
                  ) -> None:
    n = t.accounts
    print(f"\nDomain: {n:,} accounts x 12 charges, penalties until {UNTIL} "
          f"(generation {t.generate.wall:.1f} s, not counted)")
    header = (f"{'phase':<42} {'seconds':>8} {'CPU s':>7} {'accounts/s':>11} "
              f"{'us/account':>11} {'CPU us/acc':>11}")
    print(header)
    print("-" * len(header))
    labels = {"sum": "baseline: Decimal sum charges - payments",
              "allocate": "baseline: balance alone (allocate)",
              "full": "balance + penalties (allocate + compute)"}
    for name, clock in t.phases.items():
        print(f"{labels[name]:<42} {clock.wall:>8.2f} {clock.cpu:>7.2f} "
              f"{n / clock.wall:>11,.0f} {1e6 * clock.wall / n:>11.1f} "
              f"{1e6 * clock.cpu / n:>11.1f}")
    print(f"\n{'behaviour':<10} {'accounts':>9} {'us/account':>11} {'CPU us/acc':>11} "
          f"{'penalties, RUB':>16}")
    for behaviour in BEHAVIOURS:
        if behaviour in t.by_behaviour:
            count, clock, fined = t.by_behaviour[behaviour]
            print(f"{behaviour:<10} {count:>9,} {1e6 * clock.wall / count:>11.1f} "
                  f"{1e6 * clock.cpu / count:>11.1f} {fined:>16,.2f}")
    same = len(set(t.balance.values())) == 1
    print(f"\nbalance (debt - advance) {t.balance['full']:,.2f} RUB, equal in all three phases: "
          f"{'yes' if same else 'NO ' + str(t.balance)}; debt {t.debt:,.2f}; penalties "
          f"{t.penalties:,.2f} on {t.with_penalty:,} accounts")
    if parallel:
        procs, (wall, worker_s, cpu) = parallel
        one = t.generate.wall + t.phases["full"].wall
        print(f"\n{procs} processes, generation + balance + penalties: {wall:.2f} s wall "
              f"(1 process above: {one:.2f} s, x{one / wall:.2f}); balance + penalties "
              f"{worker_s:.2f} s summed over the workers, {cpu:.2f} s CPU, "
              f"{n / wall:,.0f} accounts/s overall")


# ---------------------------------------------------------------------------------------------
# Part 1b: the service's own Statement, reading a temp SQLite payments database.
# ---------------------------------------------------------------------------------------------

def fill_database(engine: Any, accounts: list[Account], until: date) -> None:
    """Ledger accounts, billing's charges and succeeded one-item card payments."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from services.payments import models as m

    at = datetime.combine(until, datetime.min.time(), timezone.utc)
    rows: dict[Any, list[dict[str, Any]]] = {m.LedgerAccount: [], m.Charge: [], m.Payment: [],
                                             m.PaymentItem: []}
    for ledger_id, a in enumerate(accounts, start=1):
        rows[m.LedgerAccount].append({"id": ledger_id, "number": f"{900_000_000 + ledger_id}",
                                      "branch": "krasnodar", "account_id": ledger_id,
                                      "tariff_category": "urban"})
        for c in a.charges:
            rows[m.Charge].append({"ledger_id": ledger_id, "period": c.period, "amount": c.amount,
                                   "due_date": calendar.due_date(c.period), "source": "billing",
                                   "lines": [], "posted_at": at})
        for p in a.payments:
            paid = datetime.combine(p.paid_on, datetime.min.time(), timezone.utc) + \
                timedelta(hours=12)
            pid = str(uuid.uuid4())
            rows[m.Payment].append({"id": pid, "user_id": None, "idempotency_key": pid,
                                    "amount": p.amount, "refunded": Decimal(0),
                                    "status": "succeeded", "source": "card",
                                    "provider": "sandbox", "save_card": False,
                                    "created_at": paid, "updated_at": paid, "paid_at": paid})
            rows[m.PaymentItem].append({"payment_id": pid, "ledger_id": ledger_id,
                                        "kind": "electricity", "period": p.period,
                                        "amount": p.amount})
    with Session(engine) as db:
        for model, batch in rows.items():
            db.execute(insert(model), batch)
        db.commit()


def run_statement(n: int, seed: int, until: date, tmp: Path) -> list[tuple[str, float, float]]:
    """(label, wall s, CPU s) of: pure domain, Statement's inputs alone, Statement.of."""
    from sqlalchemy.orm import Session

    from services.payments.domain import ledger
    from services.payments.models import LedgerAccount
    from shared.db import make_engine, migrate
    from shared.work import Work

    url = f"sqlite:///{tmp / 'payments.db'}"
    migrate(PAYMENTS_MIGRATIONS, url)
    engine = make_engine(url)
    accounts = [a for index, size in chunks(n) for a in generate(seed, index, size, until)]
    t0 = time.perf_counter()
    fill_database(engine, accounts, until)
    print(f"\nStatement: {n:,} accounts, {sum(len(a.payments) for a in accounts):,} payments "
          f"inserted into SQLite in {time.perf_counter() - t0:.1f} s")
    rates, rules = load_key_rates(), ledger.RULES()
    now = datetime.combine(until, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    results: list[tuple[str, float, float]] = []

    w0, c0 = time.perf_counter(), time.process_time()
    pure = Decimal(0)
    for a in accounts:
        alloc = penalties.allocate(a.charges, a.payments, rules)
        result = penalties.compute(a.charges, a.payments, until, rates, rules)
        pure += sum(alloc.outstanding.values()) + result.total
    results.append(("baseline: pure allocate + compute (memory)",
                    time.perf_counter() - w0, time.process_time() - c0))

    # As one RPC does: a session of its own, the account by key, then the statement.
    def each(body: Callable[[ledger.Statement, LedgerAccount], Any]) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        for ledger_id in range(1, n + 1):
            with Session(engine) as db:
                work = Work(db=db, config={}, now=now, record=lambda *_: None)
                body(ledger.Statement(work, rates), db.get(LedgerAccount, ledger_id))
        return time.perf_counter() - w0, time.process_time() - c0

    # The reading alone (a private method: what the database part of a statement costs).
    results.append(("session + account + Statement inputs (SQL)",
                    *each(lambda s, account: s._inputs(account))))
    seen = {"sum": Decimal(0)}

    def statement(s: ledger.Statement, account: LedgerAccount) -> None:
        view = s.of(account, until)
        seen["sum"] += Decimal(view["debt"]) + Decimal(view["penalties_accrued"])

    results.append(("session + account + Statement.of", *each(statement)))
    engine.dispose()
    same = "yes" if seen["sum"] == pure else f"NO ({seen['sum']} vs {pure})"
    header = f"{'phase':<44} {'seconds':>8} {'CPU s':>7} {'ms/account':>11} {'CPU ms/acc':>11}"
    print(header)
    print("-" * len(header))
    for label, wall, cpu in results:
        print(f"{label:<44} {wall:>8.2f} {cpu:>7.2f} {1000 * wall / n:>11.3f} "
              f"{1000 * cpu / n:>11.3f}")
    print(f"debt + penalties equal to the pure computation: {same}")
    return results


# ---------------------------------------------------------------------------------------------
# Part 2: the payment flow through the gateway.
# ---------------------------------------------------------------------------------------------

def publish_charges(amqp_uri: str, rng: random.Random) -> list[str]:
    """A year of bills for the demo account, as billing publishes them (plain AMQP, JSON)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("billing.events", exchange_type="topic", durable=True)
    channel.confirm_delivery()
    amounts = []
    for period in PERIODS:
        amount = str(rub(rng.randint(30_000, 500_000)))
        envelope = {"id": str(uuid.uuid4()), "type": "charge_posted", "version": 1,
                    "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "billing",
                    "payload": {"number": DEMO_ACCOUNT["number"],
                                "branch": DEMO_ACCOUNT["branch"], "period": period,
                                "amount": amount}}
        channel.basic_publish("billing.events", "charge_posted", json.dumps(envelope).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   delivery_mode=2))
        amounts.append(amount)
    connection.close()
    return amounts


class Token:
    """The access token, renewed by a login before it expires (shared by client threads)."""

    def __init__(self, gw: Client) -> None:
        self.gw = gw
        self.lock = threading.Lock()
        self.value, self.at = "", float("-inf")
        self.get()

    def get(self) -> str:
        with self.lock:
            if time.monotonic() - self.at > TOKEN_MAX_AGE:
                login = self.gw.call("POST", f"{API}/auth/login",
                                     {"phone": PHONE, "password": PASSWORD})
                self.value, self.at = login["access_token"], time.monotonic()
            return self.value


@dataclass
class Step:
    name: str
    ms: float
    error: str = ""


@dataclass
class FlowResult:
    scenario: str
    concurrency: int
    ops: int
    errors: int
    duration_s: float
    throughput: float
    steps: dict[str, tuple[float | None, float | None]]  # step -> (p50 ms, p99 ms)
    cpu_pct: dict[str, float]
    cpu_ms_per_op: dict[str, float | None]
    error_samples: list[str] = field(default_factory=list)
    payments_before: int = 0  # succeeded payments on the account when the run began


@dataclass
class Reply:
    status: int  # 0: no answer (error says why)
    data: Any
    ms: float
    error: str = ""


class Http:
    """One keep-alive connection of one client thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def call(self, method: str, path: str, body: Any, token: str | None,
             expect: int = 200) -> Reply:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, json.dumps(body) if body is not None else None,
                              headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            if resp.will_close:
                self.conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            return Reply(0, None, (time.perf_counter() - t0) * 1000, repr(exc))
        ms = (time.perf_counter() - t0) * 1000
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = raw[:160]
        error = "" if resp.status == expect else f"HTTP {resp.status}: {str(data)[:160]}"
        return Reply(resp.status, data, ms, error)


Op = Callable[[Http, Token], list[Step]]


def pay_op(account_id: int) -> Op:
    """One payment as a customer makes it: the form, then the card on the sandbox's page."""
    def op(h: Http, token: Token) -> list[Step]:
        body = {"idempotency_key": uuid.uuid4().hex,
                "items": [{"account_id": account_id, "kind": "electricity",
                           "amount": PAY_AMOUNT}]}
        r = h.call("POST", f"{API}/payments", body, token.get(), expect=201)
        url = None if r.error else (r.data.get("action") or {}).get("confirmation_url")
        if not url:
            return [Step("create", r.ms, r.error or f"no confirmation_url: {str(r.data)[:160]}")]
        card = h.call("POST", f"{API}/payments/sandbox/{url.rstrip('/').rsplit('/', 1)[-1]}",
                      CARD, token.get())
        if not card.error and card.data.get("status") != "succeeded":
            card.error = f"not succeeded: {str(card.data)[:160]}"
        return [Step("create", r.ms), Step("card", card.ms, card.error)]
    return op


def get_op(name: str, path: str, auth: bool) -> Op:
    def op(h: Http, token: Token) -> list[Step]:
        r = h.call("GET", path, None, token.get() if auth else None)
        return [Step(name, r.ms, r.error)]
    return op


def run_flow(scenario: str, op: Op, port: int, token: Token, concurrency: int, duration: float,
             warmup: float, snapshot: Callable[[], dict[str, float]]) -> FlowResult:
    """Closed loop of ``concurrency`` threads, as auth_gateway.run_load, but an op has steps:
    an op counts when it ends inside the measured window; its steps' latencies with it."""
    per_thread: list[list[list[Step]]] = [[] for _ in range(concurrency)]
    errors, samples = [0] * concurrency, []
    barrier = threading.Barrier(concurrency + 1)
    times: dict[str, float] = {}

    def worker(i: int) -> None:
        h = Http(port)
        barrier.wait()
        while time.perf_counter() < times["stop"]:
            steps = op(h, token)
            t1 = time.perf_counter()
            if not times["measure"] <= t1 < times["stop"]:
                continue
            failed = next((s.error for s in steps if s.error), "")
            if failed:
                errors[i] += 1
                if len(samples) < 5:
                    samples.append(failed)
            else:
                per_thread[i].append(steps)
        h.conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(concurrency)]
    for t in threads:
        t.start()
    now = time.perf_counter()
    times["measure"], times["stop"] = now + warmup, now + warmup + duration
    barrier.wait()
    time.sleep(max(0.0, times["measure"] - time.perf_counter()))
    before = snapshot()
    time.sleep(max(0.0, times["stop"] - time.perf_counter()))
    after = snapshot()
    for t in threads:
        t.join(timeout=120)
    done = [steps for per in per_thread for steps in per]
    by_step: dict[str, list[float]] = {}
    for steps in done:
        for s in steps:
            by_step.setdefault(s.name, []).append(s.ms)
        if len(steps) > 1:
            by_step.setdefault("total", []).append(sum(s.ms for s in steps))
    quantiles = {}
    for name, values in by_step.items():
        values.sort()
        quantiles[name] = (percentile(values, 50), percentile(values, 99))
    total = len(done) + sum(errors)
    cpu_pct = {k: round(100 * (after[k] - before.get(k, 0.0)) / duration, 1) for k in after}
    cpu_ms = {k: round(1000 * (after[k] - before.get(k, 0.0)) / total, 2) if total else None
              for k in after}
    return FlowResult(scenario, concurrency, len(done), sum(errors), duration,
                      len(done) / duration, quantiles, cpu_pct, cpu_ms, samples)


def succeeded_payments(engine: Any) -> int:
    """A look at the service's database: how many payments the (one) account has."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM payments WHERE status = 'succeeded'")
                            ).scalar_one()


def report_flow(results: list[FlowResult]) -> None:
    print()
    header = (f"{'scenario':<8} {'clients':>7} {'paid':>5} {'ops':>6} {'errors':>6} "
              f"{'ops/s':>7}   {'step p50 / p99 ms':<60}")
    print(header)
    print("-" * len(header))
    for r in results:
        steps = "  ".join(f"{name} {fmt(p50)} / {fmt(p99)}" for name, (p50, p99)
                          in sorted(r.steps.items(), key=lambda kv: kv[0] == "total"))
        print(f"{r.scenario:<8} {r.concurrency:>7} {r.payments_before:>5} {r.ops:>6} "
              f"{r.errors:>6} {r.throughput:>7.1f}   {steps}")
    for r in results:
        for sample in r.error_samples:
            print(f"  error sample ({r.scenario}/{r.concurrency}): {sample}")
    print("\nCPU during each measured window: % of one core (CPU ms per op)")
    for r in results:
        parts = [*SERVICES, "gateway", "rabbitmq", "client"]
        cells = "  ".join(f"{p} {r.cpu_pct.get(p, 0):.0f}% ({fmt(r.cpu_ms_per_op.get(p), 2)})"
                          for p in parts)
        total = sum(r.cpu_pct.get(p, 0) for p in parts)
        print(f"  {r.scenario:<8} c={r.concurrency:<3} total {total:>4.0f}%   {cells}")


class PgDatabases:
    """Fresh PostgreSQL databases for ``--postgres``, dropped once the services have stopped."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.admin: Any = None

    def create(self, service: str) -> str:
        import psycopg2

        if self.admin is None:
            try:
                self.admin = psycopg2.connect(PG_ADMIN_DSN)
            except psycopg2.Error as exc:
                raise SetupFailed(f"PostgreSQL at {PG_ADMIN_DSN!r}: {exc}") from None
            self.admin.autocommit = True
        name = f"nesk_bench_{uuid.uuid4().hex[:8]}_{service}"
        with self.admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"{PG_URL_BASE}/{name}"

    def drop(self) -> None:
        if self.admin is None:
            return
        with self.admin.cursor() as cursor:
            for name in self.names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()
        self.admin = None


def run_gateway(args: argparse.Namespace, cleanup: Cleanup, pg: PgDatabases
                ) -> list[FlowResult]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        raise SetupFailed(f"{gunicorn} not found: run with the project's venv")
    tmp = Path(tempfile.mkdtemp(prefix="nesk-bench-pay-"))
    cleanup.tmp = tmp
    var_dir, logdir = tmp / "var", tmp / "logs"
    var_dir.mkdir()
    logdir.mkdir()
    amqp_uri = make_vhost(cleanup)
    port = free_port()
    # The repo's defaults, but our own vhost, VAR_DIR (SQLite files, keys, outbox) and port.
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_DATABASE_URL") and not k.startswith(("JWT_", "STRIPE_"))}
    env.update(NESK_ENV="test", VAR_DIR=str(var_dir), AMQP_URI=amqp_uri,
               CAPTCHA_TEST_ANSWER="BENCH", LOG_LEVEL="WARNING", GATEWAY_BIND=f"{HOST}:{port}",
               SMS_BACKEND="file", EMAIL_BACKEND="file", PAYMENT_PROVIDER="sandbox",
               SANDBOX_FORM_URL=f"http://{HOST}:{port}{API}/payments/sandbox/{{ref}}",
               PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    for name in SERVICES if args.postgres else ():
        env[f"{name.upper()}_DATABASE_URL"] = pg.create(name)
    print(f"\n# gateway part: vhost {urlsplit(amqp_uri).path.lstrip('/')}, VAR_DIR {var_dir}, "
          f"databases: {'PostgreSQL' if args.postgres else 'SQLite'}")

    # What `make run` does first: migrations and the demo registry.
    for argv in ([sys.executable, "-m", "shared.migrate"],
                 [sys.executable, "-m", "services.accounts.cli", "import-registry",
                  "services/accounts/demo_registry.csv", "--quiet"]):
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        if done.returncode:
            raise SetupFailed(f"{' '.join(argv[1:])} failed:\n{done.stdout}{done.stderr}")
    for name in SERVICES:
        start(cleanup, name, [sys.executable, "-m", "shared.runner",
                              f"services.{name}.service:{name.capitalize()}Service"],
              env, logdir)
    start(cleanup, "gateway", [str(gunicorn), "-c", "gateway/gunicorn_conf.py",
                               "gateway.wsgi:app"], env, logdir)
    t0 = time.monotonic()
    wait_http(port, "/healthz", cleanup.procs, logdir)
    wait_services(port, SERVICES, cleanup, logdir)
    print(f"# gateway and {', '.join(SERVICES)} ready on :{port} after "
          f"{time.monotonic() - t0:.1f}s")

    gw = Client(port)
    user = register_user(gw, var_dir / "outbox")
    token = Token(gw)
    account = gw.call("POST", f"{API}/accounts", DEMO_ACCOUNT, token.get())
    # The ledger makes its account on first sight; let a statement do it before the 12 bills
    # arrive at once: on PostgreSQL their handlers race to insert it (a unique violation sends
    # bills to the dead-letter queue).
    gw.call("GET", f"{API}/accounts/{account['id']}/debt", token=token.get())
    amounts = publish_charges(amqp_uri, random.Random(args.seed))
    deadline = time.monotonic() + 30
    while True:  # billing's events reach the ledger through the bus: wait for all 12
        debt = gw.call("GET", f"{API}/accounts/{account['id']}/debt", token=token.get())
        if len(debt["periods"]) == len(PERIODS):
            break
        if time.monotonic() > deadline:
            raise SetupFailed(f"charges not in the ledger after 30 s: {debt}")
        time.sleep(0.2)
    print(f"# user {user['id']}, account {account['id']} ({DEMO_ACCOUNT['number']}), "
          f"12 bills {sum(Decimal(a) for a in amounts):,.2f} RUB; debt {debt['debt']}, "
          f"penalties {debt['penalties']}")

    scenarios: dict[str, Op] = {
        "pay": pay_op(account["id"]),
        "debt": get_op("debt", f"{API}/accounts/{account['id']}/debt", True),
        "healthz": get_op("healthz", "/healthz", False),
    }
    from sqlalchemy import create_engine

    ledger_db = create_engine(env.get("PAYMENTS_DATABASE_URL")
                              or f"sqlite:///{var_dir / 'payments.db'}")

    def measure(name: str, op: Op, level: int) -> None:
        for proc_name, proc in cleanup.procs:
            if proc.poll() is not None:
                raise SetupFailed(f"{proc_name} died (exit {proc.returncode}):\n"
                                  f"{log_tail(logdir, proc_name)}")
        paid = succeeded_payments(ledger_db)
        r = run_flow(name, op, port, token, level, args.duration, args.warmup,
                     lambda: cpu_snapshot(cleanup))
        r.payments_before = paid
        results.append(r)
        p50, p99 = r.steps.get("total") or next(iter(r.steps.values()), (None, None))
        print(f"  {name:<8} c={level:<3} {r.ops:>6} ops {r.errors:>4} err  "
              f"{r.throughput:>6.1f}/s  p50 {fmt(p50):>7} ms  p99 {fmt(p99):>7} ms  "
              f"(the account had {paid} payments)", flush=True)

    results: list[FlowResult] = []
    for level in args.levels:
        for name in args.scenario_list:
            measure(name, scenarios[name], level)
    if {"pay", "debt"} <= set(args.scenario_list):
        # The statement reads the account's whole history, which the pay runs grew: again.
        measure("debt-end", scenarios["debt"], 1)
    report_flow(results)
    print(f"(paid: succeeded payments on the account when the run began; the statement behind "
          f"debt and pay reads them all. {succeeded_payments(ledger_db)} at the end.)")
    ledger_db.dispose()
    return results


# ---------------------------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=100_000,
                   help="accounts in the domain part (default 100000)")
    p.add_argument("--processes", type=int, default=1,
                   help="also run the domain part on this many processes (default 1: not)")
    p.add_argument("--statement-accounts", type=int, default=2000,
                   help="accounts in the Statement-on-SQLite part (default 2000)")
    # Short by default: every payment lengthens the account's history, which each statement
    # reads (see bench/README.md).
    p.add_argument("--duration", type=float, default=5.0,
                   help="measured seconds per gateway scenario and concurrency (default 5)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="unrecorded seconds before each measurement (default 1)")
    p.add_argument("--concurrency", default="1,8", help="client threads (default 1,8)")
    p.add_argument("--scenarios", default="debt,pay,healthz",
                   help="gateway scenarios, in this order per concurrency: pay, and the "
                        "baselines debt, healthz (default debt,pay,healthz)")
    p.add_argument("--parts", default="domain,statement,gateway",
                   help="any of domain, statement, gateway (default all)")
    p.add_argument("--postgres", action="store_true",
                   help="gateway part: the services' databases on PostgreSQL (fresh, dropped "
                        "after; BENCH_POSTGRES_DSN / BENCH_POSTGRES_URL override)")
    p.add_argument("--seed", type=int, default=7, help="seed of the generated accounts")
    p.add_argument("--keep-var", action="store_true", help="keep the temp folders and logs")
    args = p.parse_args(argv)
    levels = args.concurrency.replace(" ", "").split(",")
    if not all(x.isdigit() and int(x) > 0 for x in levels):
        p.error("--concurrency takes positive integers, e.g. 1,8")
    args.levels = [int(x) for x in levels]
    args.part_list = [s.strip() for s in args.parts.split(",") if s.strip()]
    if set(args.part_list) - {"domain", "statement", "gateway"}:
        p.error("--parts takes domain, statement and/or gateway")
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if set(args.scenario_list) - {"pay", "debt", "healthz"}:
        p.error("--scenarios takes pay, debt and/or healthz")
    if min(args.accounts, args.statement_accounts, args.processes) < 1:
        p.error("--accounts, --statement-accounts and --processes must be positive")
    return args


def stop_on_signal(signum: int, _frame: Any) -> None:
    """SIGTERM and SIGHUP end the run through main's ``finally``, which cleans up."""
    print(f"stopping on signal {signum}: cleaning up", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cleanup = Cleanup()  # services, vhost and VAR_DIR of the gateway part
    cleanup.keep_tmp = args.keep_var
    atexit.register(cleanup.run)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if hasattr(os, "getloadavg"):
        print(f"# load average before start: {os.getloadavg()[0]:.2f} (other work on the box "
              "skews the figures; CPU seconds less so)")
    scratch = Path(tempfile.mkdtemp(prefix="nesk-bench-ledger-"))
    pg = PgDatabases()
    try:
        if "domain" in args.part_list:
            totals = run_domain(args.accounts, args.seed, UNTIL)
            parallel = None
            if args.processes > 1:
                parallel = (args.processes,
                            run_parallel(args.accounts, args.seed, UNTIL, args.processes))
            report_domain(totals, parallel)
        if "statement" in args.part_list:
            run_statement(args.statement_accounts, args.seed, UNTIL, scratch)
        if "gateway" in args.part_list:
            run_gateway(args, cleanup, pg)
        return 0
    except SetupFailed as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        cleanup.run()
        pg.drop()  # after the services stopped: they hold connections
        if args.keep_var:
            print(f"kept the Statement part's database in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

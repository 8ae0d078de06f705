"""Benchmark: what the bus (gateway -> RabbitMQ -> nameko auth service) costs over plain Flask.

    .venv/bin/python bench/auth_gateway.py [--duration 10] [--concurrency 1,8,32]
                                           [--warmup 1] [--json out.json] [--keep-var]

It starts, on a RabbitMQ vhost and a temp VAR_DIR of its own, exactly what `make run` runs
(the auth service under shared.runner and the gateway under gunicorn with
gateway/gunicorn_conf.py), registers a user through the real API, then loads

* login:  POST /api/v1/auth/login (phone + password)   vs  baseline POST /login
* me:     GET  /api/v1/auth/me with a Bearer token     vs  baseline GET  /me

where the baseline is the plain Flask app below (same argon2id hash, same RS256 key, a
SQLite users table, no bus), served by gunicorn with the same gateway/gunicorn_conf.py
(same worker class, workers, threads). It prints a table and checks two targets:

* the bus and gateway add at most 3 ms at p50 over the baseline;
* p99 < 50 ms at 32 concurrent clients.

A benchmark reports; it does not assert. The exit code is 0 unless the set-up failed.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import atexit
import glob
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # shared.settings, when run as bench/auth_gateway.py
API = "/api/v1"
PHONE = "+79181234567"
PASSWORD = "Bench-Kv4rtira-7391"
CAPTCHA_ANSWER = "BENCH"
HOST = "127.0.0.1"

# Targets the figures are checked against.
P50_OVERHEAD_MS = 3.0
P99_LIMIT_MS = 50.0
P99_AT_CONCURRENCY = 32


# ---------------------------------------------------------------------------------------------
# The baseline: the same work as the gateway + auth service, in one plain Flask process.
# gunicorn imports it as ``bench.auth_gateway:baseline_app()``; it reads its paths from env.
# ---------------------------------------------------------------------------------------------

def baseline_app() -> Any:
    """POST /login: user by phone, argon2id verify, RS256 sign. GET /me: RS256 verify, row by id."""
    import jwt
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError
    from flask import Flask, jsonify, request
    from sqlalchemy import (Column, MetaData, String, Table, Text, create_engine, event,
                            select)

    from cryptography.hazmat.primitives import serialization

    db_path = os.environ["BENCH_BASELINE_DB"]
    # The keys are parsed once, as a plain app would: PyJWT given PEM bytes re-parses them on
    # every call, and parsing an RSA private key costs ~30 ms of CPU (cryptography validates it).
    private_key = serialization.load_pem_private_key(
        Path(os.environ["BENCH_JWT_PRIVATE_KEY"]).read_bytes(), password=None)
    public_key = private_key.public_key()
    issuer = os.environ.get("JWT_ISSUER", "nesk-portal")
    ttl = int(os.environ.get("ACCESS_TOKEN_TTL", "600"))

    hasher = PasswordHasher()  # argon2id, library defaults: as services/auth/domain/passwords.py
    metadata = MetaData()
    users = Table("users", metadata, Column("id", String(36), primary_key=True),
                  Column("phone", String(16)), Column("email", String(254)),
                  Column("password_hash", Text), Column("role", String(16)),
                  Column("created_at", String), Column("deleted_at", String))
    # Same engine shape as shared.db.make_engine (pool, WAL, busy timeout).
    engine = create_engine(f"sqlite:///{db_path}",
                           connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=12, max_overflow=12)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    app = Flask("baseline")

    def view(row: Any) -> dict[str, Any]:
        return {"id": row.id, "phone": row.phone, "email": row.email, "role": row.role,
                "created_at": row.created_at}

    def error(status: int, code: str) -> Any:
        return jsonify({"error": {"code": code}}), status

    @app.post("/login")
    def login() -> Any:
        body = request.get_json(silent=True) or {}
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.phone == body.get("phone"),
                                                   users.c.deleted_at.is_(None))).first()
        try:
            ok = row is not None and hasher.verify(row.password_hash, body.get("password", ""))
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            return error(401, "unauthorized")
        now = int(time.time())
        token = jwt.encode({"sub": row.id, "role": row.role, "sid": uuid.uuid4().hex,
                            "jti": uuid.uuid4().hex, "typ": "access", "iss": issuer,
                            "iat": now, "exp": now + ttl}, private_key, algorithm="RS256")
        return jsonify({"access_token": token, "token_type": "Bearer", "expires_in": ttl,
                        "user": view(row)})

    @app.get("/me")
    def me() -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error(401, "unauthorized")
        try:
            claims = jwt.decode(token, public_key, algorithms=["RS256"], issuer=issuer,
                                options={"require": ["exp", "iat", "sub", "jti", "sid", "role"]})
        except jwt.PyJWTError:
            return error(401, "unauthorized")
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == claims["sub"])).first()
        if row is None or row.deleted_at is not None:
            return error(401, "unauthorized")
        return jsonify(view(row))

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


# ---------------------------------------------------------------------------------------------
# Set-up and clean-up of the isolated system.
# ---------------------------------------------------------------------------------------------

class SetupFailed(RuntimeError):
    pass


class Cleanup:
    """Everything to undo at exit: subprocesses (by process group), the vhost, the temp dir."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.vhost_url: str | None = None
        self.mgmt_auth: tuple[str, str] | None = None
        self.tmp: Path | None = None
        self.keep_tmp = False
        self._done = False
        self._lock = threading.Lock()

    def run(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        for name, proc in reversed(self.procs):
            stop_process(proc)
        if self.vhost_url:
            try:
                import requests
                requests.delete(self.vhost_url, auth=self.mgmt_auth, timeout=10)
            except Exception as exc:  # report, keep cleaning
                print(f"warning: could not delete vhost {self.vhost_url}: {exc}", file=sys.stderr)
        if self.tmp and not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp:
            print(f"kept VAR_DIR and logs in {self.tmp}", file=sys.stderr)


def stop_process(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process group we started (start_new_session), then SIGKILL if needed."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def make_vhost(cleanup: Cleanup) -> str:
    """A fresh vhost through the management API; returns the AMQP URI for it."""
    import requests

    amqp = urlsplit(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    mgmt = urlsplit(os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/"))
    user = mgmt.username or "guest"
    auth = (user, mgmt.password or "guest")
    base = f"{mgmt.scheme}://{mgmt.hostname}:{mgmt.port or 15672}/api"
    vhost = f"nesk-bench-{uuid.uuid4().hex[:8]}"
    url = f"{base}/vhosts/{quote(vhost, safe='')}"
    try:
        requests.put(url, auth=auth, timeout=10).raise_for_status()
    except Exception as exc:
        raise SetupFailed(f"RabbitMQ management API at {base} refused a new vhost: {exc}")
    cleanup.vhost_url, cleanup.mgmt_auth = url, auth
    requests.put(f"{base}/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", auth=auth,
                 json={"configure": ".*", "write": ".*", "read": ".*"},
                 timeout=10).raise_for_status()
    netloc = amqp.netloc.rsplit("@", 1)
    creds = netloc[0] if len(netloc) == 2 else "guest:guest"
    hostport = netloc[-1]
    return f"amqp://{creds}@{hostport}/{quote(vhost, safe='')}"


def start(cleanup: Cleanup, name: str, argv: list[str], env: dict[str, str], logdir: Path
          ) -> subprocess.Popen:
    log = open(logdir / f"{name}.log", "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    cleanup.procs.append((name, proc))
    return proc


def log_tail(logdir: Path, name: str, lines: int = 30) -> str:
    try:
        text = (logdir / f"{name}.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"  {name}| {line}" for line in text[-lines:])


def wait_http(port: int, path: str, procs: list[tuple[str, subprocess.Popen]], logdir: Path,
              timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        for name, proc in procs:
            if proc.poll() is not None:
                raise SetupFailed(f"{name} exited with {proc.returncode} before {path} was "
                                  f"ready:\n{log_tail(logdir, name)}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            if resp.status == 200:
                return
            last = f"HTTP {resp.status}: {body[:200]!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.3)
    tails = "\n".join(log_tail(logdir, name) for name, _ in procs)
    raise SetupFailed(f"{path} on port {port} not ready after {timeout:.0f}s ({last})\n{tails}")


def wait_services(port: int, names: Sequence[str], cleanup: Cleanup, logdir: Path,
                  timeout: float = 90) -> None:
    """/readyz pings every routed service; only ours are started, so read theirs alone."""
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        for name, proc in cleanup.procs:
            if proc.poll() is not None:
                raise SetupFailed(f"{name} exited with {proc.returncode}:\n"
                                  f"{log_tail(logdir, name)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request("GET", "/readyz")
            body = json.loads(conn.getresponse().read() or b"{}")
            state = body.get("services", {})
            if all(state.get(n, {}).get("ok") for n in names):
                return
            last = json.dumps({n: state.get(n) for n in names})
        except (OSError, ValueError) as exc:
            last = repr(exc)
        finally:
            conn.close()
        time.sleep(0.5)
    raise SetupFailed(f"services not ready after {timeout:.0f}s: {last}\n" +
                      "\n".join(log_tail(logdir, n) for n, _ in cleanup.procs))


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stats() -> list[tuple[int, str, int, float]]:
    """(pid, comm, session id, cpu seconds) of every process we can read (Linux /proc)."""
    stats = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        # fields after comm: state ppid pgrp session ... utime(14th field) stime(15th)
        stats.append((int(entry), comm, int(rest[3]), (int(rest[11]) + int(rest[12])) / CLK_TCK))
    return stats


def cpu_snapshot(cleanup: "Cleanup") -> dict[str, float]:
    """CPU seconds so far of each started process group, RabbitMQ (beam.smp) and us."""
    sessions = {proc.pid: name for name, proc in cleanup.procs}
    totals = {name: 0.0 for name in sessions.values()}
    totals["rabbitmq"] = 0.0
    for pid, comm, sid, cpu in _proc_stats():
        if sid in sessions:
            totals[sessions[sid]] += cpu
        elif comm == "beam.smp":
            totals["rabbitmq"] += cpu
    totals["client"] = time.process_time()
    return totals


class Client:
    """Tiny JSON client for the set-up steps (keep-alive http.client)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             expect: tuple[int, ...] = (200, 201, 202)) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        data = json.loads(raw) if raw else {}
        if resp.status not in expect:
            raise SetupFailed(f"{method} {path} -> HTTP {resp.status}: {raw[:500]!r}")
        return data


def read_code(outbox: Path, phone: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(glob.glob(str(outbox / "*.json")), reverse=True):
            try:
                msg = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if msg.get("channel") == "sms" and msg.get("to") == phone:
                match = re.search(r"\b(\d{6})\b", msg.get("body", ""))
                if match:
                    return match.group(1)
        time.sleep(0.1)
    raise SetupFailed(f"no SMS code to {phone} in {outbox}")


def register_user(gw: Client, outbox: Path) -> dict[str, Any]:
    """captcha -> register by phone -> SMS code from the file outbox -> verify -> complete."""
    captcha = gw.call("POST", f"{API}/auth/captcha")
    challenge = gw.call("POST", f"{API}/auth/register/phone", {
        "phone": PHONE, "captcha_id": captcha["captcha_id"], "captcha_answer": CAPTCHA_ANSWER})
    code = read_code(outbox, PHONE)
    proof = gw.call("POST", f"{API}/auth/register/phone/verify",
                    {"verification_id": challenge["verification_id"], "code": code})
    consent = gw.call("GET", f"{API}/auth/consent")
    done = gw.call("POST", f"{API}/auth/register/phone/complete", {
        "registration_token": proof["registration_token"], "password": PASSWORD,
        "password_confirmation": PASSWORD, "consent_version": consent["version"]})
    return done["user"]


def make_baseline_db(auth_db: Path, baseline_db: Path, user_id: str) -> None:
    """The baseline's users table, holding a copy of the registered user's row (same hash)."""
    src = sqlite3.connect(auth_db)
    row = src.execute("SELECT id, phone, email, password_hash, role, created_at, deleted_at "
                      "FROM users WHERE id = ?", (user_id,)).fetchone()
    src.close()
    if row is None:
        raise SetupFailed(f"user {user_id} not found in {auth_db}")
    dst = sqlite3.connect(baseline_db)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("CREATE TABLE users (id VARCHAR(36) PRIMARY KEY, phone VARCHAR(16) UNIQUE, "
                "email VARCHAR(254) UNIQUE, password_hash TEXT, role VARCHAR(16), "
                "created_at TEXT, deleted_at TEXT)")
    dst.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    dst.commit()
    dst.close()


# ---------------------------------------------------------------------------------------------
# Load generation.
# ---------------------------------------------------------------------------------------------

@dataclass
class Target:
    system: str  # gateway | baseline
    port: int
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


@dataclass
class Result:
    scenario: str
    concurrency: int
    system: str
    requests: int
    errors: int
    duration_s: float
    throughput: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    cpu_pct: dict[str, float]  # CPU use of each process during the window, % of one core
    cpu_ms_per_request: dict[str, float | None]
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, int(round(q / 100 * len(sorted_values) + 0.4999)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def run_load(target: Target, scenario: str, concurrency: int, duration: float, warmup: float,
             snapshot: Callable[[], dict[str, float]]) -> Result:
    """``concurrency`` threads, each with one keep-alive connection, closed loop.

    A request is recorded when it completes inside the measured window (after the
    warm-up); those still in flight at its end are finished but not recorded. So
    throughput = completions in the window / its length, even when a request takes longer
    than the warm-up (argon2 logins at high concurrency).
    """
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    samples: list[str] = []
    barrier = threading.Barrier(concurrency + 1)
    times: dict[str, float] = {}

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, target.port, timeout=60)
        mine = latencies[i]
        barrier.wait()
        measure_from, stop_at = times["measure"], times["stop"]
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            status, detail = 0, ""
            try:
                conn.request(target.method, target.path, target.body, target.headers)
                resp = conn.getresponse()
                payload = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                if not 200 <= status < 300:
                    detail = f"HTTP {status}: {payload[:160]!r}"
            except (OSError, http.client.HTTPException) as exc:
                detail = repr(exc)
                conn.close()
                conn = http.client.HTTPConnection(HOST, target.port, timeout=60)
            t1 = time.perf_counter()
            if measure_from <= t1 < stop_at:  # completed inside the measured window
                if detail:
                    errors[i] += 1
                    if len(samples) < 5:
                        samples.append(detail)
                else:
                    mine.append((t1 - t0) * 1000)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(concurrency)]
    for t in threads:
        t.start()
    now = time.perf_counter()
    times["measure"] = now + warmup
    times["stop"] = now + warmup + duration
    barrier.wait()
    time.sleep(max(0.0, times["measure"] - time.perf_counter()))
    before = snapshot()
    time.sleep(max(0.0, times["stop"] - time.perf_counter()))
    after = snapshot()
    for t in threads:
        t.join(timeout=120)
    values = sorted(v for per in latencies for v in per)
    n_err = sum(errors)
    total = len(values) + n_err
    cpu_pct = {k: round(100 * (after[k] - before.get(k, 0.0)) / duration, 1) for k in after}
    cpu_ms = {k: round(1000 * (after[k] - before.get(k, 0.0)) / total, 2) if total else None
              for k in after}
    return Result(scenario, concurrency, target.system, total, n_err, duration,
                  total / duration, percentile(values, 50),
                  percentile(values, 90), percentile(values, 99),
                  values[-1] if values else None, cpu_pct, cpu_ms, samples)


# ---------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------

def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(results: list[Result]) -> dict[str, Any]:
    print()
    header = (f"{'scenario':<9} {'conc':>4} {'system':<8} {'requests':>8} {'errors':>6} "
              f"{'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.scenario:<9} {r.concurrency:>4} {r.system:<8} {r.requests:>8} {r.errors:>6} "
              f"{r.throughput:>8.1f} {fmt(r.p50_ms):>8} {fmt(r.p90_ms):>8} {fmt(r.p99_ms):>8} "
              f"{fmt(r.max_ms):>8}")
    for r in results:
        for sample in r.error_samples:
            print(f"  error sample ({r.scenario}/{r.concurrency}/{r.system}): {sample}")

    # Where the CPU went: on a small box the processes share the same cores.
    print()
    print("CPU during each measured window: % of one core (CPU ms per request)")
    for r in results:
        parts = ["auth", "gateway", "rabbitmq"] if r.system == "gateway" else ["baseline"]
        parts.append("client")
        cells = "  ".join(f"{name} {r.cpu_pct.get(name, 0):.0f}% "
                          f"({fmt(r.cpu_ms_per_request.get(name), 2)})" for name in parts)
        total = sum(r.cpu_pct.get(name, 0) for name in parts)
        print(f"  {r.scenario:<6} c={r.concurrency:<3} {r.system:<8} total {total:>4.0f}%   {cells}")

    by_key = {(r.scenario, r.concurrency, r.system): r for r in results}
    comparisons = []
    print()
    print(f"{'scenario':<9} {'conc':>4} {'p50 gw-base':>12} {'p50 gw/base':>12} "
          f"{'p99 gw/base':>12} {'req/s gw/base':>14}   target: +{P50_OVERHEAD_MS:g} ms at p50")
    for (scenario, conc, system), gw in by_key.items():
        if system != "gateway" or (scenario, conc, "baseline") not in by_key:
            continue
        base = by_key[(scenario, conc, "baseline")]
        diff = None if gw.p50_ms is None or base.p50_ms is None else gw.p50_ms - base.p50_ms
        ratio = (None if diff is None or not base.p50_ms else gw.p50_ms / base.p50_ms)
        ratio99 = (None if gw.p99_ms is None or not base.p99_ms else gw.p99_ms / base.p99_ms)
        tput = gw.throughput / base.throughput if base.throughput else None
        ok = diff is not None and diff <= P50_OVERHEAD_MS and gw.errors == 0
        comparisons.append({"scenario": scenario, "concurrency": conc, "p50_diff_ms": diff,
                            "p50_ratio": ratio, "p99_ratio": ratio99, "throughput_ratio": tput,
                            "p50_overhead_pass": ok})
        print(f"{scenario:<9} {conc:>4} {fmt(diff, 2):>12} {fmt(ratio, 2):>12} "
              f"{fmt(ratio99, 2):>12} {fmt(tput, 2):>14}   {'PASS' if ok else 'FAIL'}")

    targets = []
    print()
    print("Targets")
    for c in comparisons:
        targets.append({"target": f"p50 overhead <= {P50_OVERHEAD_MS:g} ms", **c,
                        "pass": c["p50_overhead_pass"]})
        print(f"  [{'PASS' if c['p50_overhead_pass'] else 'FAIL'}] bus+gateway add <= "
              f"{P50_OVERHEAD_MS:g} ms at p50: {c['scenario']:<6} c={c['concurrency']:<3} "
              f"(+{fmt(c['p50_diff_ms'], 2)} ms)")
    for r in results:
        if r.concurrency != P99_AT_CONCURRENCY:
            continue
        ok = r.p99_ms is not None and r.p99_ms < P99_LIMIT_MS and r.errors == 0
        note = "" if r.system == "gateway" else "   (reference: the baseline)"
        targets.append({"target": f"p99 < {P99_LIMIT_MS:g} ms at {P99_AT_CONCURRENCY} clients",
                        "scenario": r.scenario, "system": r.system, "p99_ms": r.p99_ms,
                        "pass": ok})
        print(f"  [{'PASS' if ok else 'FAIL'}] p99 < {P99_LIMIT_MS:g} ms at "
              f"{P99_AT_CONCURRENCY} clients: {r.scenario:<6} {r.system:<8} "
              f"(p99 {fmt(r.p99_ms)} ms){note}")
    if not any(r.concurrency == P99_AT_CONCURRENCY for r in results):
        print(f"  (p99 target not checked: concurrency {P99_AT_CONCURRENCY} was not run)")
    return {"comparisons": comparisons, "targets": targets}


# ---------------------------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0,
                   help="measured seconds per scenario, concurrency and system (default 10)")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="unrecorded seconds before each measurement (default 1)")
    p.add_argument("--concurrency", default="1,8,32",
                   help="comma-separated client thread counts (default 1,8,32)")
    p.add_argument("--scenarios", default="login,me", help="login,me (default both)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    p.add_argument("--keep-var", action="store_true",
                   help="keep the temp VAR_DIR and process logs (for post-mortems)")
    args = p.parse_args(argv)
    try:
        args.levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    except ValueError:
        p.error("--concurrency takes integers, e.g. 1,8,32")
    if not args.levels or min(args.levels) < 1:
        p.error("--concurrency takes positive integers")
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if set(args.scenario_list) - {"login", "me"}:
        p.error("--scenarios takes login and/or me")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cleanup = Cleanup()
    cleanup.keep_tmp = args.keep_var
    atexit.register(cleanup.run)

    def on_signal(signum: int, _frame: Any) -> None:
        print(f"stopping on signal {signum}: cleaning up", file=sys.stderr)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        return run(args, cleanup)
    except SetupFailed as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        cleanup.run()


def run(args: argparse.Namespace, cleanup: Cleanup) -> int:
    bindir = Path(sys.executable).parent
    gunicorn = bindir / "gunicorn"
    if not gunicorn.exists():
        raise SetupFailed(f"{gunicorn} not found: run with the project's venv "
                          "(.venv/bin/python bench/auth_gateway.py)")
    tmp = Path(tempfile.mkdtemp(prefix="nesk-bench-"))
    cleanup.tmp = tmp
    var_dir, logdir = tmp / "var", tmp / "logs"
    var_dir.mkdir()
    logdir.mkdir()
    amqp_uri = make_vhost(cleanup)
    gw_port, base_port = free_port(), free_port()

    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_DATABASE_URL") and not k.startswith("JWT_")
           and k not in {"GATEWAY_WORKERS", "GATEWAY_THREADS", "SERVICE_MAX_WORKERS"}}
    env.update({
        "NESK_ENV": "test", "VAR_DIR": str(var_dir), "AMQP_URI": amqp_uri,
        "CAPTCHA_TEST_ANSWER": CAPTCHA_ANSWER, "LOG_LEVEL": "WARNING",
        "GATEWAY_BIND": f"{HOST}:{gw_port}", "SMS_BACKEND": "file", "EMAIL_BACKEND": "file",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    })
    # Reported: the settings the processes run with (the repo's defaults unless overridden).
    from shared import settings as shared_settings
    cfg = shared_settings.load(env)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if hasattr(os, "getloadavg"):
        print(f"# load average before start: {os.getloadavg()[0]:.2f} (other work on the box "
              "skews the figures)")
    print(f"# vhost {urlsplit(amqp_uri).path.lstrip('/')}, VAR_DIR {var_dir}")
    print(f"# gunicorn gthread workers={cfg['GATEWAY_WORKERS']} threads={cfg['GATEWAY_THREADS']} "
          f"(both systems); auth SERVICE_MAX_WORKERS={cfg['SERVICE_MAX_WORKERS']}")
    print(f"# duration {args.duration:g}s + warm-up {args.warmup:g}s per run, "
          f"concurrency {args.levels}")

    # What `make run` runs: migrate, then the Procfile's two processes.
    migrate = subprocess.run([sys.executable, "-m", "shared.migrate"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    if migrate.returncode:
        raise SetupFailed(f"shared.migrate failed:\n{migrate.stdout}{migrate.stderr}")
    auth = start(cleanup, "auth", [sys.executable, "-m", "shared.runner",
                                   "services.auth.service:AuthService"], env, logdir)
    gateway = start(cleanup, "gateway", [str(gunicorn), "-c", "gateway/gunicorn_conf.py",
                                         "gateway.wsgi:app"], env, logdir)
    t0 = time.monotonic()
    wait_http(gw_port, "/healthz", [("auth", auth), ("gateway", gateway)], logdir)
    wait_services(gw_port, ["auth"], cleanup, logdir)  # /readyz lists every routed service
    print(f"# gateway ready on :{gw_port} after {time.monotonic() - t0:.1f}s")

    gw = Client(gw_port)
    user = register_user(gw, var_dir / "outbox")
    print(f"# registered benchmark user {user['id']} ({user['phone']})")

    # The baseline: same gunicorn config file (worker class, workers, threads), its own port.
    key_file = var_dir / "keys" / "jwt-private.pem"
    baseline_db = var_dir / "baseline.db"
    make_baseline_db(var_dir / "auth.db", baseline_db, user["id"])
    base_env = {**env, "GATEWAY_BIND": f"{HOST}:{base_port}",
                "BENCH_BASELINE_DB": str(baseline_db), "BENCH_JWT_PRIVATE_KEY": str(key_file)}
    baseline = start(cleanup, "baseline", [str(gunicorn), "-c", "gateway/gunicorn_conf.py",
                                           "bench.auth_gateway:baseline_app()"], base_env, logdir)
    wait_http(base_port, "/healthz", [("baseline", baseline)], logdir)
    print(f"# baseline ready on :{base_port}")

    login_body = json.dumps({"phone": PHONE, "password": PASSWORD}).encode()
    json_headers = {"Content-Type": "application/json"}
    base = Client(base_port)

    def targets_for(scenario: str) -> list[Target]:
        if scenario == "login":
            return [Target("gateway", gw_port, "POST", f"{API}/auth/login", login_body,
                           json_headers),
                    Target("baseline", base_port, "POST", "/login", login_body, json_headers)]
        # A fresh token per run, so the 10-minute access token never runs out mid-benchmark.
        gw_token = gw.call("POST", f"{API}/auth/login", {"phone": PHONE, "password": PASSWORD})
        base_token = base.call("POST", "/login", {"phone": PHONE, "password": PASSWORD})
        return [Target("gateway", gw_port, "GET", f"{API}/auth/me", None,
                       {"Authorization": f"Bearer {gw_token['access_token']}"}),
                Target("baseline", base_port, "GET", "/me", None,
                       {"Authorization": f"Bearer {base_token['access_token']}"})]

    results: list[Result] = []
    for scenario in args.scenario_list:
        for level in args.levels:
            for target in targets_for(scenario):
                for name, proc in cleanup.procs:
                    if proc.poll() is not None:
                        raise SetupFailed(f"{name} died (exit {proc.returncode}):\n"
                                          f"{log_tail(logdir, name)}")
                r = run_load(target, scenario, level, args.duration, args.warmup,
                             lambda: cpu_snapshot(cleanup))
                results.append(r)
                print(f"  {scenario:<6} c={level:<3} {target.system:<8} {r.requests:>6} req "
                      f"{r.errors:>4} err  p50 {fmt(r.p50_ms):>7} ms  p99 {fmt(r.p99_ms):>7} ms",
                      flush=True)

    summary = report(results)
    if args.json:
        out = {"settings": {"duration_s": args.duration, "warmup_s": args.warmup,
                            "concurrency": args.levels, "cpus": os.cpu_count(),
                            "gateway_workers": cfg["GATEWAY_WORKERS"],
                            "gateway_threads": cfg["GATEWAY_THREADS"],
                            "service_max_workers": cfg["SERVICE_MAX_WORKERS"]},
               "results": [asdict(r) for r in results], **summary}
        Path(args.json).write_text(json.dumps(out, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

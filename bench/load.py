"""Load on the write path (issue 15, first cut): reading submissions through the whole system
next to a plain baseline measured in the same run.

* ours:     POST /api/v1/accounts/{id}/readings through the gateway, readings (and the rest of
            the stack, started as ``make run`` starts it: tests/e2e/stack.py), the outbox and
            RabbitMQ; a subscriber bound to ``readings.events`` as billing would be measures
            the delay from the 201 to the ``reading_submitted`` event.
* baseline: a plain Flask app under gunicorn with the gateway's gunicorn_conf.py, writing the
            same reading row into a database migrated with readings' own migrations (mark the
            earlier readings of the period replaced, insert, commit): no token, no bus, no
            rules; its "event" is counted at the commit.

Closed loop: each client has its own customer and account and submits back to back.

    .venv/bin/python -m bench.load [--clients 1,8] [--duration 10] [--warmup 2] [--json out]

Needs RabbitMQ (AMQP_URI, RABBIT_MANAGEMENT_URI as in the settings); makes a vhost and a temp
folder and removes both at exit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import pika
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import Stack, eventually, free_port, make_stack  # noqa: E402

AMQP = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/").rstrip("/")
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/")
PERIOD = time.strftime("%Y-%m")


# -- the baseline: gunicorn imports ``bench.load:baseline_app()``; its database from env ------

def baseline_app() -> Any:
    from flask import Flask, jsonify, request
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(os.environ["BENCH_BASELINE_DB"], pool_size=8)
    app = Flask("baseline")

    @app.post("/accounts/<int:account_id>/readings")
    def submit(account_id: int) -> Any:
        body = request.get_json()
        with engine.begin() as conn:
            conn.execute(text(
                "UPDATE readings SET status = 'replaced' WHERE account_id = :a AND "
                "meter_serial = :m AND period = :p AND status IN ('pending', 'accepted')"),
                {"a": account_id, "m": body["meter_serial"], "p": PERIOD})
            reading_id = conn.execute(text(
                "INSERT INTO readings (account_id, meter_serial, period, t1, rolled_over, "
                "source, status, submitted_at) VALUES (:a, :m, :p, :v, false, 'manual', "
                "'pending', CURRENT_TIMESTAMP) RETURNING id"),
                {"a": account_id, "m": body["meter_serial"], "p": PERIOD,
                 "v": body["values"][0]}).scalar_one()
        return jsonify({"id": reading_id}), 201

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"ok": True})

    return app


# -- measuring ---------------------------------------------------------------------------------

class Subscriber(threading.Thread):
    """Billing's view: an exclusive queue on ``readings.events``; arrival time per reading."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(daemon=True)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        channel = self.connection.channel()
        channel.exchange_declare("readings.events", exchange_type="topic", durable=True)
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, "readings.events", routing_key="reading_submitted")
        channel.basic_consume(queue, self._on_message, auto_ack=True)
        self.channel = channel
        self.arrived: dict[int, list[float]] = {}

    def _on_message(self, _ch: Any, _method: Any, _props: Any, body: bytes) -> None:
        reading_id = json.loads(body)["payload"]["reading_id"]
        self.arrived.setdefault(reading_id, []).append(time.monotonic())

    def run(self) -> None:
        try:
            self.channel.start_consuming()
        except Exception:  # the connection closed at the end
            pass

    def close(self) -> None:
        self.connection.add_callback_threadsafe(self.channel.stop_consuming)


@dataclass
class Result:
    system: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # s, of the 2xx in the window
    errors: int = 0
    done: dict[int, float] = field(default_factory=dict)  # reading id -> monotonic 201 time

    def line(self, subscriber: Subscriber | None) -> dict[str, Any]:
        lat = sorted(self.latencies)
        row: dict[str, Any] = {
            "system": self.system, "clients": self.clients, "requests": len(lat),
            "errors": self.errors, "per_s": round(len(lat) / self.seconds, 1),
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}
        if subscriber is not None:
            delays = sorted(subscriber.arrived[r][0] - t for r, t in self.done.items()
                            if r in subscriber.arrived)
            row.update(event_p50_ms=pct(delays, 50), event_p99_ms=pct(delays, 99),
                       lost=sum(r not in subscriber.arrived for r in self.done),
                       duplicated=sum(len(subscriber.arrived[r]) > 1 for r in self.done
                                      if r in subscriber.arrived))
        return row


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(1000 * values[min(len(values) - 1, int(len(values) * q / 100))], 1)


def closed_loop(system: str, submit: Callable[[int, int], tuple[int, int | None]],
                clients: int, duration: float, warmup: float) -> Result:
    """``clients`` threads calling ``submit(client, n)`` back to back; record what finishes
    within ``duration`` after ``warmup``."""
    result = Result(system, clients, duration)
    start = time.monotonic() + warmup
    stop = start + duration
    lock = threading.Lock()

    def client(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            began = time.monotonic()
            status, reading_id = submit(i, n)
            ended = time.monotonic()
            n += 1
            if began >= start and ended <= stop:
                with lock:
                    if 200 <= status < 300:
                        result.latencies.append(ended - began)
                        if reading_id is not None:
                            result.done[reading_id] = ended
                    else:
                        result.errors += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


# -- set-up ------------------------------------------------------------------------------------

def make_vhost() -> tuple[str, Callable[[], None]]:
    name = f"bench-load-{uuid.uuid4().hex[:8]}"
    api = MANAGEMENT.rstrip("/") + "/api"
    requests.put(f"{api}/vhosts/{quote(name, safe='')}", timeout=10).raise_for_status()
    requests.put(f"{api}/permissions/{quote(name, safe='')}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    base = AMQP.rsplit("/", 1)[0] if AMQP.count("/") > 2 else AMQP
    return (f"{base}/{quote(name, safe='')}",
            lambda: requests.delete(f"{api}/vhosts/{quote(name, safe='')}", timeout=10))


def customer(stack: Stack) -> tuple[str, int, str]:
    """A registered customer with a linked account of one meter: token, account id, serial."""
    token = stack.register_phone()["access_token"]
    account_id = stack.link_account(token, stack.open_account())
    meters = eventually(lambda: stack.api("GET", f"/accounts/{account_id}/meters", token).json(),
                        what="the account's meters")
    meters = meters.get("meters", meters) if isinstance(meters, dict) else meters
    return token, account_id, meters[0]["serial"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--json", help="write the rows to this file too")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",")]

    var = Path(tempfile.mkdtemp(prefix="bench-load-"))
    amqp_uri, drop_vhost = make_vhost()
    stack = make_stack(var, amqp_uri, ACCESS_TOKEN_TTL="3600")
    baseline: subprocess.Popen | None = None
    rows: list[dict[str, Any]] = []
    try:
        stack.start(demo=False, web=False)
        people = [customer(stack) for _ in range(max(levels))]
        subscriber = Subscriber(amqp_uri)
        subscriber.start()
        http = threading.local()

        def ours(i: int, n: int) -> tuple[int, int | None]:
            session = getattr(http, "s", None) or requests.Session()
            http.s = session
            token, account_id, serial = people[i]
            r = session.post(f"{stack.gateway}/api/v1/accounts/{account_id}/readings",
                             json={"meter_serial": serial, "values": [1000 + n],
                                   "confirm": True},
                             headers={"Authorization": f"Bearer {token}",
                                      "Idempotency-Key": str(uuid.uuid4())}, timeout=60)
            return r.status_code, (r.json().get("id") if r.status_code == 201 else None)

        # The baseline: readings' schema, its own database, the gateway's gunicorn settings.
        from shared.db import migrate
        base_db = f"sqlite:///{var / 'baseline.db'}"
        migrate(ROOT / "services" / "readings" / "migrations", base_db)
        port = free_port()
        baseline = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gateway/gunicorn_conf.py",
             "bench.load:baseline_app()"], cwd=ROOT, start_new_session=True,
            env={**stack.env, "BENCH_BASELINE_DB": base_db, "GATEWAY_BIND": f"127.0.0.1:{port}"},
            stdout=open(var / "baseline.log", "w"), stderr=subprocess.STDOUT)
        eventually(lambda: _up(f"http://127.0.0.1:{port}/healthz"), what="the baseline")

        def plain(i: int, n: int) -> tuple[int, int | None]:
            session = getattr(http, "b", None) or requests.Session()
            http.b = session
            _, account_id, serial = people[i]
            r = session.post(f"http://127.0.0.1:{port}/accounts/{account_id}/readings",
                             json={"meter_serial": serial, "values": [1000 + n]}, timeout=60)
            return r.status_code, None

        for clients in levels:  # interleaved: both see the same machine
            for system, submit in (("ours", ours), ("baseline", plain)):
                result = closed_loop(system, submit, clients, args.duration, args.warmup)
                time.sleep(1)  # the last events arrive
                rows.append(result.line(subscriber if system == "ours" else None))
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        subscriber.close()
    finally:
        if baseline is not None:
            baseline.terminate()
            baseline.wait(15)
        stack.stop()
        drop_vhost()
        shutil.rmtree(var, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())

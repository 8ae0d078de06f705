"""What bench/load.py measures with: the closed loop of clients, billing's subscriber, the CPU
time of each process over a window, and percentiles."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pika
import psutil

# Billing's view of the bus: one durable queue bound to these (exchange, routing key) pairs.
BILLING_BINDINGS = (("readings.events", "reading_submitted"),
                    ("payments.events", "payment_succeeded"))
# The key of the event payload that names what a client request made.
SUBJECT_KEYS = {"reading_submitted": "reading_id", "payment_succeeded": "payment_id"}


def pct(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile of sorted seconds, in ms (None for no values)."""
    if not values:
        return None
    return round(1000 * values[min(len(values) - 1, int(len(values) * q / 100))], 1)


class Subscriber(threading.Thread):
    """Billing as a subscriber: a durable queue bound to readings' and payments' events;
    arrival times per subject (reading or payment id) and per event id."""

    def __init__(self, amqp_uri: str, queue: str = "billing-bench") -> None:
        super().__init__(daemon=True)
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        channel = self.connection.channel()
        channel.queue_declare(queue, durable=True)
        for exchange, key in BILLING_BINDINGS:
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            channel.queue_bind(queue, exchange, routing_key=key)
        channel.basic_qos(prefetch_count=500)
        channel.basic_consume(queue, self._on_message)
        self.channel = channel
        self.lock = threading.Lock()
        self.arrived: dict[Any, list[float]] = {}  # subject id -> arrival times
        self.event_ids: dict[str, int] = {}  # event id -> times received

    def _on_message(self, channel: Any, method: Any, _props: Any, body: bytes) -> None:
        now = time.monotonic()
        envelope = json.loads(body)
        subject = envelope["payload"][SUBJECT_KEYS[envelope["type"]]]
        with self.lock:
            self.arrived.setdefault(subject, []).append(now)
            self.event_ids[envelope["id"]] = self.event_ids.get(envelope["id"], 0) + 1
        channel.basic_ack(method.delivery_tag)

    def run(self) -> None:
        try:
            self.channel.start_consuming()
        except Exception:  # noqa: BLE001 - the connection closed at the end
            pass

    def missing(self, subjects: Iterable[Any]) -> int:
        with self.lock:
            return sum(s not in self.arrived for s in subjects)

    def wait_for(self, subjects: list[Any], deadline: float = 60) -> None:
        """Poll until every subject's event came, or ``deadline`` seconds passed (the rest
        then counts as lost)."""
        ends = time.monotonic() + deadline
        while self.missing(subjects) and time.monotonic() < ends:
            time.sleep(0.1)

    def duplicated_events(self) -> int:
        with self.lock:
            return sum(n > 1 for n in self.event_ids.values())

    def close(self) -> None:
        self.connection.add_callback_threadsafe(self.channel.stop_consuming)


@dataclass
class Result:
    """What the clients of one closed loop saw within the measured window."""

    system: str
    scenario: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # s, of the 2xx in the window
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    done: dict[Any, float] = field(default_factory=dict)  # subject -> monotonic answer time

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {"system": self.system, "scenario": self.scenario, "clients": self.clients,
                "requests": len(lat), "errors": self.errors,
                "per_s": round(len(lat) / self.seconds, 1), "p50_ms": pct(lat, 50),
                "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99)}

    def events(self, subscriber: Subscriber) -> dict[str, Any]:
        """Event delay from each answer to its event at billing, lost and duplicated."""
        with subscriber.lock:
            arrived = {s: list(t) for s, t in subscriber.arrived.items() if s in self.done}
        delays = sorted(arrived[s][0] - t for s, t in self.done.items() if s in arrived)
        return {"event_p50_ms": pct(delays, 50), "event_p99_ms": pct(delays, 99),
                "lost": sum(s not in arrived for s in self.done),
                "duplicated": sum(len(t) > 1 for t in arrived.values())}


# One request of a client: (HTTP status, the subject it made or None, an error text or None).
Call = Callable[[int, int], tuple[int, Any, str | None]]


def closed_loop(system: str, scenario: str, call: Call, clients: int, duration: float,
                warmup: float, on_window: Callable[[bool], None] | None = None) -> Result:
    """``clients`` threads calling ``call(client, n)`` back to back; what finishes within
    ``duration`` seconds after ``warmup`` is recorded. ``on_window(True)`` runs when the window
    opens and ``on_window(False)`` when it closes (the CPU meter's snapshots)."""
    result = Result(system, scenario, clients, duration)
    start = time.monotonic() + warmup
    stop = start + duration
    lock = threading.Lock()

    def client(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            began = time.monotonic()
            try:
                status, subject, error = call(i, n)
            except Exception as exc:  # noqa: BLE001 - a failed request counts as an error
                status, subject, error = 0, None, repr(exc)[:200]
            ended = time.monotonic()
            n += 1
            if began < start or ended > stop:
                continue
            with lock:
                if 200 <= status < 300 and error is None:
                    result.latencies.append(ended - began)
                    if subject is not None:
                        result.done[subject] = ended
                else:
                    result.errors += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(f"{status}: {error}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    if on_window is not None:
        _sleep_until(start)
        on_window(True)
        _sleep_until(stop)
        on_window(False)
    for t in threads:
        t.join()
    return result


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


CLIENT = "client"  # the group of this process: the clients and the subscriber
Finder = Callable[[], dict[str, list[psutil.Process]]]


class CpuMeter:
    """CPU seconds (user + system) of named groups of processes over a window: ``find()``
    lists the processes of each group at the window's start and at its end (gateway workers,
    PostgreSQL backends come and go); a process gone before the end loses its share."""

    def __init__(self, find: Finder) -> None:
        self.find = find
        self.before: dict[tuple[int, float], float] = {}
        self.used: dict[str, float] = {}

    @staticmethod
    def _times(groups: dict[str, list[psutil.Process]]
               ) -> dict[tuple[int, float], tuple[str, float]]:
        out = {}
        for name, processes in groups.items():
            for p in processes:
                try:
                    t = p.cpu_times()
                    out[(p.pid, p.create_time())] = (name, t.user + t.system)
                except psutil.Error:
                    continue  # ended meanwhile
        return out

    def window(self, opening: bool) -> None:
        """``closed_loop``'s ``on_window``."""
        now = self._times(self.find())
        if opening:
            self.before = {key: cpu for key, (_, cpu) in now.items()}
            return
        self.used = {}
        for key, (name, cpu) in now.items():
            self.used[name] = self.used.get(name, 0.0) + cpu - self.before.get(key, 0.0)

    def per_request(self, requests: int) -> dict[str, float]:
        """CPU ms per request of each group, and ``total``: the system's, the load
        generator (``client``) left out."""
        if not requests:
            return {}
        out = {name: round(1000 * s / requests, 2) for name, s in sorted(self.used.items())}
        out["total"] = round(1000 * sum(s for name, s in self.used.items()
                                        if name != CLIENT) / requests, 2)
        return out


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (gunicorn's master and workers), py-spy left out."""
    try:
        root = psutil.Process(pid)
        found = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    return [p for p in found if _name(p) != "py-spy"]


def _name(p: psutil.Process) -> str:
    try:
        return p.name()
    except psutil.Error:
        return ""


def rabbitmq() -> list[psutil.Process]:
    """The broker's Erlang VM (the machine's one node: other runs' traffic counts too)."""
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "beam.smp"]


def postgres_backends(databases: Iterable[str]) -> list[psutil.Process]:
    """The PostgreSQL server's backends connected to these databases (their process title
    names the database: ``postgres: [cluster:] user dbname host(port) state``)."""
    names = set(databases)
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        words = " ".join(p.info["cmdline"] or []).split()
        if p.info["name"] in ("postgres", "postmaster") and names.intersection(words[1:5]):
            found.append(p)
    return found

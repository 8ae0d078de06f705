"""OCR worker process: reads bill photos off the readings OCR work queue.

    python -m services.readings.ocr_worker        # OCR_WORKERS processes (default 1)

Each process loads the OCR model once at start (OCR_PRELOAD), then takes one job at a time
from the durable queue ``readings.ocr_jobs`` (prefetch 1, manual ack): it marks the job
running, recognises the photo, stores the result on the job row and acks only after that
commit. A process killed mid-job leaves the message unacked: the broker gives it to another
worker (or this one restarted); a job taken twice without an end fails with a reason
(services/readings/domain/photo_jobs.py). More throughput = more processes: OCR_WORKERS here,
replicas of the ocr-worker Deployment on Kubernetes (keep OCR_WORKERS=1 there).

With METRICS_PORT set, one process answers ``/livez`` (its consumer loop turns and holds a
broker connection), ``/readyz`` (also: its database answers) and ``/metrics``.
"""
from __future__ import annotations

import shared  # noqa: F401  (quiets eventlet's deprecation banner before nameko imports it)

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from kombu import Connection, Consumer, Message
from prometheus_client import REGISTRY, make_wsgi_app
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from services.readings.dependencies import ocr_queue
from services.readings.domain import photo_jobs
from services.readings.domain.recognition import recognise_photo
from shared import logs, settings
from shared.db import make_engine
from shared.events import parse_envelope
from shared.health import HealthChecks, with_health

log = logging.getLogger("services.readings.ocr_worker")

HEARTBEAT = 30  # seconds; beats go on while a photo is read (the recognition runs aside)
LIVE_AFTER = 120  # seconds without a turn of the consumer loop: not live
CHILD = "OCR_WORKER_CHILD"  # set in the processes a pool starts


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Worker:
    """One OCR worker process: a consumer of the work queue, one job at a time."""

    def __init__(self, config: dict[str, Any],
                 recognise: Callable[[bytes, str | None, list[dict[str, Any]]], dict[str, Any]]
                 = recognise_photo) -> None:
        self.config = config
        self.recognise = recognise
        self.engine = make_engine(settings.database_url(config, "readings"), pool_size=2)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.stopping = threading.Event()
        self.connection: Connection | None = None
        self.turned = time.monotonic()  # the consumer loop's last turn (liveness)
        self.aside = ThreadPoolExecutor(1, thread_name_prefix="ocr")

    # -- health --------------------------------------------------------------------------------

    def live(self) -> dict[str, bool]:
        connection = self.connection
        return {"amqp": connection is not None and bool(connection.connected),
                "loop": time.monotonic() - self.turned < LIVE_AFTER}

    def ready(self) -> dict[str, bool]:
        try:
            with self.engine.connect() as db:
                db.execute(text("SELECT 1"))
            database = True
        except Exception:  # noqa: BLE001 - down or refusing: not ready
            database = False
        return {**self.live(), "database": database}

    def serve_health(self, port: int) -> None:
        """``/livez``, ``/readyz`` and ``/metrics`` on METRICS_PORT, in a thread."""
        # shared.health's answers: the same JSON as a service's probes (this has live, ready)
        app = with_health(cast(HealthChecks, self), make_wsgi_app(REGISTRY))

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:  # probes every few seconds: no log
                pass

        host = self.config.get("METRICS_HOST") or "127.0.0.1"
        try:
            server: WSGIServer = make_server(host, port, app, handler_class=Quiet)
        except OSError as exc:  # health is not worth refusing to read photos
            log.error("health: cannot listen on %s:%s: %s", host, port, exc)
            return
        threading.Thread(target=server.serve_forever, daemon=True, name="health").start()

    # -- work ----------------------------------------------------------------------------------

    def handle(self, body: Any, message: Message) -> None:
        """One delivery: run the job aside while the connection keeps beating, then ack (or
        put it back for its second try)."""
        try:
            envelope = parse_envelope(body if isinstance(body, dict) else json.loads(body))
            job_id = str(envelope["payload"]["job_id"])
        except Exception:  # noqa: BLE001 - not a job: nothing to redo
            log.error("not a photo job, dropped: %r", body)
            message.ack()
            return
        future = self.aside.submit(photo_jobs.run, self.sessions, job_id, utcnow,
                                   self.recognise)
        while True:
            try:
                outcome = future.result(timeout=1)
                break
            except TimeoutError:
                self._beat()
            except Exception:  # noqa: BLE001 - the database: the job waits on the queue
                log.exception("photo job %s: could not be run; back on the queue", job_id)
                time.sleep(2)  # not a hot loop while the database is away
                message.requeue()
                return
        log.info("photo job %s: %s", job_id, outcome)
        if outcome == "retry":
            message.requeue()
        else:
            message.ack()

    def _beat(self) -> None:
        self.turned = time.monotonic()
        if self.connection is not None:
            self.connection.heartbeat_check()

    def consume(self) -> None:
        """Until stopped: take jobs; reconnect after a lost connection."""
        while not self.stopping.is_set():
            try:
                with Connection(self.config["AMQP_URI"], heartbeat=HEARTBEAT,
                                connect_timeout=10) as connection:
                    self.connection = connection
                    channel = connection.channel()
                    channel.basic_qos(0, 1, False)  # one job at a time per process
                    queue = ocr_queue(self.config)(channel)
                    queue.declare()
                    with Consumer(channel, queues=[queue], callbacks=[self.handle],
                                  accept=["json"], no_ack=False):
                        log.info("OCR worker consuming %s", queue.name)
                        while not self.stopping.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except TimeoutError:
                                pass
                            self._beat()
            except (OSError, *Connection(self.config["AMQP_URI"]).connection_errors) as exc:
                log.warning("OCR worker lost the broker (%s); reconnecting", exc)
                self.connection = None
                self.stopping.wait(2)
        self.connection = None

    def stop(self, *_args: Any) -> None:
        self.stopping.set()


def run_one(config: dict[str, Any]) -> int:
    worker = Worker(config)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    port = int(config.get("METRICS_PORT") or 0)
    if port:
        worker.serve_health(port)
    if config["OCR_PRELOAD"]:
        from services.readings.ocr import get_engine

        started = time.monotonic()
        get_engine()  # once per process, before the first job
        log.info("OCR model loaded in %.1f s", time.monotonic() - started)
    worker.consume()
    worker.aside.shutdown(wait=True)
    worker.engine.dispose()
    return 0


def run_pool(count: int) -> int:
    """``count`` worker processes; one that dies is started again. The first serves health."""
    stopping = threading.Event()
    children: list[subprocess.Popen[bytes] | None] = [None] * count

    def start(index: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, CHILD: "1", "OCR_WORKERS": "1"}
        if index:
            env.pop("METRICS_PORT", None)  # one health port per pool
        return subprocess.Popen([sys.executable, "-m", "services.readings.ocr_worker"], env=env)

    def stop(*_args: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping.is_set():
        for index, child in enumerate(children):
            if child is None or child.poll() is not None:
                if child is not None:
                    log.warning("OCR worker %d exited (%s); starting it again", index,
                                child.returncode)
                children[index] = start(index)
        stopping.wait(1)
    for child in children:
        if child is not None and child.poll() is None:
            child.terminate()
    for child in children:
        if child is not None:
            child.wait()
    return 0


def main() -> int:
    try:
        config = settings.load()
    except settings.ConfigurationError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    logs.configure("ocr_worker", config["LOG_LEVEL"])
    if config["OCR_WORKERS"] > 1 and not os.environ.get(CHILD):
        return run_pool(config["OCR_WORKERS"])
    return run_one(config)


if __name__ == "__main__":
    sys.exit(main())

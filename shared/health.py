"""Health of one service process, for Kubernetes probes: ``/livez`` and ``/readyz``.

Served by the same eventlet WSGI server as ``/metrics`` (shared.metrics, on METRICS_PORT), so
each answer tells about this process only, costs no new process and needs neither a free
worker nor the broker's routing (an RPC ping, which any replica may answer, could not).

- ``/livez``: the process's eventlet hub runs (it answers at all: a blocked or frozen hub
  answers nothing, and the probe times out) and its AMQP consumer holds a connection. The
  database is left out on purpose: its outage must not restart every pod.
- ``/readyz``: the consumer has started and is connected, and the service's database answers
  ``SELECT 1`` within READY_TIMEOUT.

Each answers 200 or 503 with a JSON body naming the checks.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import eventlet
from nameko.messaging import QueueConsumer
from sqlalchemy import text

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class ConsumerWatch:
    """Whether nameko's queue consumer of a container is connected to the broker now.

    kombu's ConsumerMixin enters ``extra_context(connection, channel)`` around its drain loop
    after each (re)connection and leaves it when the connection is lost (a missed heartbeat
    included), so wrapping that hook tells exactly when it consumes."""

    def __init__(self, consumer: QueueConsumer | None) -> None:
        self.consumer = consumer
        self.connection: Any = None
        if consumer is not None:
            inner = consumer.extra_context

            @contextmanager
            def watched(connection: Any, channel: Any) -> Iterator[None]:
                with inner(connection, channel):
                    self.connection = connection
                    try:
                        yield
                    finally:
                        self.connection = None

            consumer.extra_context = watched  # type: ignore[method-assign]

    def connected(self) -> bool:
        """True while the consumer drains a live connection."""
        consumer = self.consumer
        if consumer is None:  # a service without RPC or handlers: nothing to consume
            return True
        thread = consumer._gt
        if thread is None or thread.dead:
            return False
        return self.connection is not None and bool(self.connection.connected)

    def started(self) -> bool:
        """True once the consumer has declared its queues and consumes."""
        return self.consumer is None or self.consumer._consumers_ready.ready()


def find_consumer(container: Any) -> QueueConsumer | None:
    """The container's shared queue consumer (RPC and event handlers), if any."""
    return next((e for e in container.extensions if isinstance(e, QueueConsumer)), None)


class HealthChecks:
    """The checks behind ``/livez`` and ``/readyz`` of one service process."""

    def __init__(self, watch: ConsumerWatch, engine: Any = None, timeout: float = 2.0) -> None:
        self.watch = watch
        self.engine = engine
        self.timeout = timeout

    def live(self) -> dict[str, bool]:
        return {"amqp": self.watch.connected()}

    def ready(self) -> dict[str, bool]:
        return {"consuming": self.watch.started() and self.watch.connected(),
                "database": self._database()}

    def _database(self) -> bool:
        if self.engine is None:
            return True
        try:
            with eventlet.Timeout(self.timeout):
                with self.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
        except (Exception, eventlet.Timeout):  # down, refusing, or slower than the probe
            return False
        return True


def with_health(checks: HealthChecks, fallback: WsgiApp) -> WsgiApp:
    """A WSGI app answering ``/livez`` and ``/readyz`` from ``checks``, anything else with
    ``fallback`` (the metrics)."""
    probes = {"/livez": checks.live, "/readyz": checks.ready}

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        probe = probes.get(environ.get("PATH_INFO", ""))
        if probe is None:
            return fallback(environ, start_response)
        results = probe()
        ok = all(results.values())
        body = json.dumps({"ok": ok, "checks": results}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
        return [body]

    return app

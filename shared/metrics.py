"""Prometheus metrics (prometheus_client): what an on-call engineer looks at first.

Services. :class:`ServiceMetrics`, a dependency of every service (``ServiceBase.metrics``),
counts and times each worker by entrypoint kind (rpc, event, timer) and method, with its
outcome: ``ok``, ``domain_error`` (a :class:`DomainError` is an answer, not a failure) or
``error``. At each scrape it also reads the service's outbox backlog from its own database
and the depth of its dead-letter queues from the broker (a passive declare), each skipped,
and ``nesk_metrics_source_up`` set to 0, while that source cannot be reached. With
``METRICS_PORT`` set it serves ``/metrics`` on that port from an eventlet WSGI server of its
own, so a scrape needs neither a free worker nor the broker; the same server answers the
probes ``/livez`` and ``/readyz`` of this process (shared.health). The consumers' retries and dead
letters are counted where they are decided (shared.consumers), OCR where readings reads a
photo (:func:`ocr_timer`).

HTTP. :func:`instrument_flask` counts and times the gateway's requests by route template and
the web cabinet's by Flask endpoint (never the raw URL: ids would explode the label count),
and adds ``GET /metrics``. Under gunicorn several worker processes answer: each writes its
figures to ``PROMETHEUS_MULTIPROC_DIR`` (set up by shared.gunicorn_metrics) and ``/metrics``
sums every worker's.
"""
from __future__ import annotations

import logging
import os
import re
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import eventlet
import eventlet.wsgi
from amqp.exceptions import ChannelError
from kombu import Connection
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import Timer
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import disable_created_metrics, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy.orm import Session

from shared.clock import clock
from shared.db import Database
from shared.errors import DomainError
from shared.health import ConsumerWatch, HealthChecks, find_consumer, with_health
from shared.outbox import OutboxMixin, backlog

log = logging.getLogger(__name__)

# No <name>_created series: a start time per label set doubles the series for no use here.
disable_created_metrics()

# Seconds; an RPC has RPC_TIMEOUT (10 s by default), a timer or an event handler may take longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
OCR_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 20, 30)
BROKER_TIMEOUT = 2.0  # seconds a scrape waits for the broker before reporting it down
UNMATCHED = "<unmatched>"  # the route of a request no route took (404, 405)

WORKERS = Counter("nesk_workers", "Workers run by a service, by entrypoint and outcome "
                  "(ok, domain_error: an expected answer such as 404 or 422, error: a failure).",
                  ["service", "kind", "method", "outcome"])
WORKER_SECONDS = Histogram("nesk_worker_seconds", "Time a service's worker took, seconds.",
                           ["service", "kind", "method"], buckets=LATENCY_BUCKETS)
CONSUMER_RETRIES = Counter("nesk_consumer_retries", "Event messages sent to <queue>.retry after "
                           "a transient failure of their handler.",
                           ["service", "handler", "queue"])
CONSUMER_DEAD_LETTERS = Counter("nesk_consumer_dead_letters", "Event messages sent to the "
                                "dead-letter queue <queue>.dead.",
                                ["service", "handler", "queue"])
OCR_IN_FLIGHT = Gauge("nesk_ocr_in_flight", "Photos being read (OCR) or waiting for a thread now.",
                      multiprocess_mode="livesum")  # summed, were it ever in gunicorn workers
OCR_SECONDS = Histogram("nesk_ocr_seconds", "Time to read a photo, seconds, by outcome (read, "
                        "rejected: not an image we take, error).", ["outcome"],
                        buckets=OCR_BUCKETS)
HTTP_REQUESTS = Counter("nesk_http_requests", "HTTP requests answered, by route and status.",
                        ["app", "method", "route", "status"])
HTTP_SECONDS = Histogram("nesk_http_request_seconds", "Time to answer an HTTP request, seconds.",
                         ["app", "method", "route"], buckets=LATENCY_BUCKETS)


def entrypoint_kind(entrypoint: Any) -> str:
    """``rpc``, ``event`` or ``timer`` (else the entrypoint's class name)."""
    for kind, cls in (("rpc", Rpc), ("event", EventHandler), ("timer", Timer)):
        if isinstance(entrypoint, cls):
            return kind
    return type(entrypoint).__name__.lower()


def outcome_of(exc_info: Any) -> str:
    """``ok``, ``domain_error`` (an answer the caller expects) or ``error``."""
    if exc_info is None:
        return "ok"
    return "domain_error" if isinstance(exc_info[1], DomainError) else "error"


class ServiceStateCollector:
    """Gauges read at scrape time: the outbox backlog (from the service's database) and the
    dead-letter queues' depth (from the broker). A source that fails is left out of the
    scrape and reported by ``nesk_metrics_source_up``; the rest of the scrape still answers."""

    def __init__(self, service: str, amqp_uri: str, engine: Any = None,
                 outbox_model: type[Any] | None = None, dead_queues: Iterable[str] = ()) -> None:
        self.service = service
        self.amqp_uri = amqp_uri
        self.engine = engine
        self.outbox_model = outbox_model
        self.dead_queues = sorted(dead_queues)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("nesk_metrics_source_up", "Whether a scrape could read a "
                               "source (database: the outbox; broker: the dead-letter queues).",
                               labels=["service", "source"])
        if self.engine is not None and self.outbox_model is not None:
            families = self._outbox()
            up.add_metric([self.service, "database"], 1 if families else 0)
            yield from families
        if self.dead_queues:
            depths = self._dead_letter_depths()
            up.add_metric([self.service, "broker"], 1 if depths is not None else 0)
            if depths is not None:
                gauge = GaugeMetricFamily("nesk_dead_letter_queue_messages", "Messages waiting "
                                          "in a dead-letter queue <queue>.dead.",
                                          labels=["service", "queue"])
                for queue, depth in depths.items():
                    gauge.add_metric([self.service, queue], depth)
                yield gauge
        yield up

    def _outbox(self) -> list[Metric]:
        try:
            with Session(self.engine) as session:
                found = backlog(session, self.outbox_model, clock.now())
        except Exception as exc:  # the database is down or locked: this scrape goes without
            log.warning("metrics: the outbox could not be read",
                        extra={"service": self.service, "error": repr(exc)})
            return []
        figures = (("nesk_outbox_pending", "Outbox events committed and not yet published "
                    "(parked ones apart).", found["pending"]),
                   ("nesk_outbox_parked", "Outbox events parked after the broker kept refusing "
                    "them (python -m shared.outbox parked).", found["parked"]),
                   ("nesk_outbox_oldest_pending_seconds", "Age of the oldest pending outbox "
                    "event, seconds (0 when none).", found["oldest_pending_seconds"]))
        families: list[Metric] = []
        for name, documentation, value in figures:
            family = GaugeMetricFamily(name, documentation, labels=["service"])
            family.add_metric([self.service], value)
            families.append(family)
        return families

    def _dead_letter_depths(self) -> dict[str, int] | None:
        try:
            with Connection(self.amqp_uri, connect_timeout=BROKER_TIMEOUT) as connection:
                connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)  # no retry
                depths = {}
                for queue in self.dead_queues:
                    channel = connection.channel()
                    try:  # passive: the count of a queue that exists, nothing declared
                        depths[queue] = channel.queue_declare(queue, passive=True).message_count
                    except ChannelError:  # deleted by hand: nothing to count
                        continue
                    finally:
                        _close_quietly(channel)
                return depths
        except Exception as exc:  # the broker is down or does not answer in time
            log.warning("metrics: the dead-letter queues could not be read",
                        extra={"service": self.service, "error": repr(exc)})
            return None


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # a channel the broker closed (queue not found) is closed already
        log.debug("closing a metrics channel failed", exc_info=True)


class _Forward:
    """Another registry's metrics inside this one (the process's in a service's)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def serve(registry: CollectorRegistry, host: str, port: int,
          health: HealthChecks | None = None) -> tuple[Any, Any]:
    """Answer on ``host:port`` with the registry's metrics (and ``/livez``, ``/readyz`` from
    ``health``), in a green thread; returns (thread, socket)."""
    sock = eventlet.listen((host, port))
    app = make_wsgi_app(registry)
    if health is not None:
        app = with_health(health, app)
    thread = eventlet.spawn(eventlet.wsgi.server, sock, app, log_output=False)
    return thread, sock


class ServiceMetrics(DependencyProvider):
    """Times and counts every worker of the service and serves its ``/metrics`` (see the
    module's docstring). ``registry`` is what a scrape of this service reads."""

    def setup(self) -> None:
        self.service = self.container.service_name
        self.started: dict[Any, float] = {}
        self.server: tuple[Any, Any] | None = None
        self.registry = CollectorRegistry()
        self.registry.register(_Forward(REGISTRY))
        # Wrapped now, before the consumer starts: it sees every connection (shared.health).
        self.consumer_watch = ConsumerWatch(find_consumer(self.container))

    def start(self) -> None:
        # Every extension is set up by now: the database's engine, the handlers' dead queues.
        database = next((d for d in self.container.dependencies if isinstance(d, Database)),
                        None)
        outbox = next((d.model for d in self.container.dependencies
                       if isinstance(getattr(d, "model", None), type)
                       and issubclass(d.model, OutboxMixin)), None)
        dead = [e.dead_queue.name for e in self.container.entrypoints
                if getattr(e, "dead_queue", None) is not None]
        self.collector = ServiceStateCollector(
            self.service, self.container.config["AMQP_URI"],
            getattr(database, "engine", None), outbox, dead)
        self.registry.register(self.collector)
        config = self.container.config
        port = int(config.get("METRICS_PORT") or 0)
        if port:
            host = config.get("METRICS_HOST") or "127.0.0.1"
            health = HealthChecks(self.consumer_watch, getattr(database, "engine", None),
                                  float(config.get("READY_TIMEOUT") or 2))
            try:
                self.server = serve(self.registry, host, port, health)
            except OSError as exc:  # metrics are not worth refusing to serve customers
                log.error("metrics: cannot listen on %s:%s: %s", host, port, exc)
            else:
                log.info("metrics at http://%s:%s/metrics", host, port)

    def stop(self) -> None:
        if self.server is not None:
            thread, sock = self.server
            thread.kill()
            sock.close()
            self.server = None

    def kill(self) -> None:
        self.stop()

    def worker_setup(self, worker_ctx: Any) -> None:
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self.started.pop(worker_ctx, None)
        entrypoint = worker_ctx.entrypoint
        labels = (self.service, entrypoint_kind(entrypoint), entrypoint.method_name)
        WORKERS.labels(*labels, outcome_of(exc_info)).inc()
        if started is not None:
            WORKER_SECONDS.labels(*labels).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx: Any) -> None:
        self.started.pop(worker_ctx, None)  # a worker that ended before its result


@contextmanager
def ocr_timer(rejected: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Count a photo read in flight while the block runs and time it by outcome (an
    exception of ``rejected``: the photo is not one we take)."""
    started = time.perf_counter()
    outcome = "error"
    OCR_IN_FLIGHT.inc()
    try:
        yield
        outcome = "read"
    except rejected:
        outcome = "rejected"
        raise
    finally:
        OCR_IN_FLIGHT.dec()
        OCR_SECONDS.labels(outcome).observe(time.perf_counter() - started)


# ---- HTTP apps (Flask; imported there only) --------------------------------------------------

def route_template() -> str:
    """The matched URL rule as a template: ``/api/v1/accounts/{account_id}/readings``."""
    from flask import request

    if request.url_rule is None:
        return UNMATCHED
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", request.url_rule.rule)


def flask_endpoint() -> str:
    """The Flask endpoint that answered: ``readings.submit``."""
    from flask import request

    return request.endpoint or UNMATCHED


def exposition(accept: str | None) -> tuple[bytes, str]:
    """This process's metrics (every gunicorn worker's, in multiprocess mode) and their
    content type, in the format the scraper asked for."""
    from prometheus_client import multiprocess

    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def instrument_flask(app: Any, name: str, route: Callable[[], str]) -> None:
    """Count and time every request of ``app`` by ``route()`` and status, and serve
    ``GET /metrics``."""
    from flask import Response, abort, g, request

    @app.before_request
    def _metrics_start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _metrics_count(response: Any) -> Any:
        label = route()
        HTTP_REQUESTS.labels(name, request.method, label, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            HTTP_SECONDS.labels(name, request.method, label).observe(
                time.perf_counter() - started)
        return response

    def metrics() -> Any:
        """Prometheus metrics of this app (every worker process), for a scraper that calls
        the pod directly: a request that came through a proxy (the Ingress adds
        X-Forwarded-For) is 404, so the public never reads them."""
        if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
            abort(404)
        body, content_type = exposition(request.headers.get("Accept"))
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])

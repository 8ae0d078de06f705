"""Prometheus metrics of the running system, on the real broker and databases (SQLite and
PostgreSQL): a service's workers by RPC method and outcome, the gateway's requests by route
template, consumers' retries and dead letters, the dead-letter queues' depth, the outbox
backlog."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any, Callable, Iterator

import pika
import pytest
import requests
from nameko.runners import ServiceRunner
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import create_engine, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared.clock import clock
from shared.consumers import reliable_event_handler
from shared.events import parse_envelope
from shared.metrics import ServiceMetrics, ServiceStateCollector
from shared.outbox import PARKED, AnyOutbox
from tests.conftest import make_config
from tests.integration.bus import publish
from tests.integration.test_readings import customer_with_meter, month_day, move_to, submit
from tests.unit.test_metrics import free_port, value

SINK = "metered_sink"
QUEUE = f"evt-metered_source-thing_happened--{SINK}.on_thing"
TRANSIENT_LEFT: Counter[str] = Counter()
POISON: set[str] = set()
ATTEMPTS: Counter[str] = Counter()


def service_scrape(sys, service: str) -> str:
    """What Prometheus reads from ``service`` (its dependency's registry)."""
    container = next(c for c in sys.runner.containers if c.service_name == service)
    provider = next(d for d in container.dependencies if isinstance(d, ServiceMetrics))
    return generate_latest(provider.registry).decode()


def scrape_until(scrape: Callable[[], str], name: str, expected: float, **labels: str) -> str:
    """Scrape until the sample ``name`` reaches ``expected`` (the bus is asynchronous)."""
    deadline = time.monotonic() + 15
    while value(text := scrape(), name, **labels) != expected:
        assert time.monotonic() < deadline, f"{name} {labels} never reached {expected}"
        time.sleep(0.05)
    return text


def test_a_reading_is_counted_by_readings_and_by_the_gateway(sys):
    move_to(sys, month_day(sys, 0, 20))
    tokens, account_id, _ = customer_with_meter(sys)
    submit_rpc = {"service": "readings", "kind": "rpc", "method": "submit"}
    route = {"app": "gateway", "method": "POST",
             "route": "/api/v1/accounts/{account_id}/readings", "status": "201"}
    before, gateway_before = service_scrape(sys, "readings"), sys.client.get("/metrics").text

    assert submit(sys, tokens, account_id, [3007]).status_code == 201
    assert submit(sys, tokens, account_id, [100000]).status_code == 422  # the service's answer

    # A worker is counted as it ends, just after its reply has left: scrape until it has.
    after = scrape_until(lambda: service_scrape(sys, "readings"), "nesk_worker_seconds_count",
                         (value(before, "nesk_worker_seconds_count", **submit_rpc) or 0) + 2,
                         **submit_rpc)
    gateway_after = sys.client.get("/metrics").text
    for outcome in ("ok", "domain_error"):
        assert (value(after, "nesk_workers_total", **submit_rpc, outcome=outcome)
                == (value(before, "nesk_workers_total", **submit_rpc, outcome=outcome) or 0) + 1)
    assert (value(after, "nesk_worker_seconds_sum", **submit_rpc)
            > (value(before, "nesk_worker_seconds_sum", **submit_rpc) or 0))
    assert (value(gateway_after, "nesk_http_requests_total", **route)
            == (value(gateway_before, "nesk_http_requests_total", **route) or 0) + 1)
    # The scrape read readings' own outbox and its dead-letter queues.
    for source in ("database", "broker"):
        assert value(after, "nesk_metrics_source_up", service="readings", source=source) == 1
    assert value(after, "nesk_outbox_pending", service="readings") is not None
    assert value(after, "nesk_dead_letter_queue_messages", service="readings") is not None


def test_the_outbox_backlog_counts_unpublished_and_parked_rows(database_url):
    engine = create_engine(database_url)
    AnyOutbox.metadata.create_all(engine)
    now = clock.now()
    with Session(engine) as session:
        session.add_all([
            AnyOutbox(event_id="published", event_type="t", body="{}", attempts=1,
                      created_at=now - timedelta(seconds=90), published_at=now),
            AnyOutbox(event_id="waiting", event_type="t", body="{}", attempts=0,
                      created_at=now - timedelta(seconds=40)),
            AnyOutbox(event_id="parked", event_type="t", body="{}", attempts=5,
                      created_at=now - timedelta(seconds=60), last_error=PARKED + "nack")])
        session.commit()
    registry = CollectorRegistry()
    registry.register(ServiceStateCollector("svc", "amqp://unused/", engine, AnyOutbox))
    try:
        assert registry.get_sample_value("nesk_outbox_pending", {"service": "svc"}) == 1
        assert registry.get_sample_value("nesk_outbox_parked", {"service": "svc"}) == 1
        age = registry.get_sample_value("nesk_outbox_oldest_pending_seconds", {"service": "svc"})
        assert 40 <= age < 600
        with Session(engine) as session:  # the relay sends it
            session.execute(update(AnyOutbox).where(AnyOutbox.event_id == "waiting")
                            .values(published_at=clock.now()))
            session.commit()
        assert registry.get_sample_value("nesk_outbox_pending", {"service": "svc"}) == 0
        assert registry.get_sample_value(
            "nesk_outbox_oldest_pending_seconds", {"service": "svc"}) == 0
    finally:
        AnyOutbox.metadata.drop_all(engine)
        engine.dispose()


class MeteredSink:
    name = SINK
    metrics = ServiceMetrics()

    @reliable_event_handler("metered_source", "thing_happened")
    def on_thing(self, body: dict[str, Any]) -> None:
        text = parse_envelope(body)["payload"]["text"]
        ATTEMPTS[text] += 1
        if TRANSIENT_LEFT[text] > 0:
            TRANSIENT_LEFT[text] -= 1
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        if text in POISON:
            raise RuntimeError("cannot take it")


@pytest.fixture(scope="module")
def sink(amqp_uri: str, tmp_path_factory) -> Iterator[Callable[[], str]]:
    """The sink running with METRICS_PORT; yields its scrape over HTTP."""
    port = free_port()
    config = make_config(tmp_path_factory.mktemp("sink"), amqp_uri, METRICS_PORT=port,
                         CONSUMER_RETRY_ATTEMPTS=2, CONSUMER_RETRY_DELAY=0.05,
                         CONSUMER_RETRY_MAX_DELAY=0.2)
    runner = ServiceRunner(config)
    runner.add_service(MeteredSink)
    runner.start()
    try:
        yield lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        runner.stop()
        connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        connection.channel().queue_purge(QUEUE + ".dead")
        connection.close()


def test_retries_dead_letters_and_the_dead_letter_queue_are_counted(sink, amqp_uri):
    labels = {"service": SINK, "handler": "on_thing", "queue": QUEUE}
    depth = {"service": SINK, "queue": QUEUE + ".dead"}
    before = sink()
    retries = value(before, "nesk_consumer_retries_total", **labels) or 0
    dead = value(before, "nesk_consumer_dead_letters_total", **labels) or 0
    waiting = value(before, "nesk_dead_letter_queue_messages", **depth)
    assert waiting is not None  # the queue is declared at start, so watched from the start

    flaky, poison = f"t-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    TRANSIENT_LEFT[flaky] = 1
    publish(amqp_uri, "metered_source", "thing_happened", {"text": flaky})
    text = scrape_until(sink, "nesk_consumer_retries_total", retries + 1, **labels)
    assert (value(text, "nesk_consumer_dead_letters_total", **labels) or 0) == dead
    deadline = time.monotonic() + 15
    while ATTEMPTS[flaky] < 2:  # counted when sent to the retry queue; handled a moment later
        assert time.monotonic() < deadline, "the retry never came"
        time.sleep(0.05)

    POISON.add(poison)
    publish(amqp_uri, "metered_source", "thing_happened", {"text": poison})
    # Counted just after the message reaches the dead queue: wait for both.
    scrape_until(sink, "nesk_consumer_dead_letters_total", dead + 1, **labels)
    text = scrape_until(sink, "nesk_dead_letter_queue_messages", waiting + 1, **depth)
    assert value(text, "nesk_consumer_dead_letters_total", **labels) == dead + 1
    assert value(text, "nesk_consumer_retries_total", **labels) == retries + 1  # a bug: no retry
    assert value(text, "nesk_workers_total", service=SINK, kind="event", method="on_thing",
                 outcome="error") >= 2

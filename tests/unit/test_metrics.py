"""Prometheus metrics without a broker: the gateway's and the web cabinet's by route, a
service's /metrics while the broker is down, the OCR timer, and gunicorn's worker processes
summed at /metrics."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway.app import create_app
from shared import metrics
from shared.clock import clock
from shared.outbox import AnyOutbox
from shared.tokens import load_public_key
from tests.conftest import make_config
from web.app import create_app as create_web_app

ROOT = Path(__file__).resolve().parents[2]
NO_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name`` with these labels in a Prometheus text exposition."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def label_values(text: str, name: str, label: str) -> set[str]:
    return {s.labels[label] for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == name and label in s.labels}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    config = make_config(tmp_path_factory.mktemp("var"), NO_BROKER)
    return create_app(config).test_client()


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def test_the_gateway_counts_by_route_template_and_status_never_the_raw_url(gateway):
    route = "/api/v1/accounts/{account_id}/meters"
    labels = {"app": "gateway", "method": "GET", "route": route}
    before = scrape(gateway)
    for account in (918273, 918274):
        assert gateway.get(f"/api/v1/accounts/{account}/meters").status_code == 401
    assert gateway.get("/api/v1/no/such/918275").status_code == 404
    after = scrape(gateway)
    assert (value(after, "nesk_http_requests_total", **labels, status="401")
            == (value(before, "nesk_http_requests_total", **labels, status="401") or 0) + 2)
    assert (value(after, "nesk_http_request_seconds_count", **labels)
            == (value(before, "nesk_http_request_seconds_count", **labels) or 0) + 2)
    unmatched = {"app": "gateway", "method": "GET", "route": "<unmatched>", "status": "404"}
    assert (value(after, "nesk_http_requests_total", **unmatched)
            == (value(before, "nesk_http_requests_total", **unmatched) or 0) + 1)
    routes = label_values(after, "nesk_http_requests_total", "route")
    assert not [r for r in routes if "9182" in r]


def test_metrics_are_not_in_the_openapi_document(gateway):
    document = gateway.get("/api/v1/openapi.json").json
    assert not [path for path in document["paths"] if "metrics" in path]


def test_metrics_through_a_proxy_are_not_found(tmp_path, gateway):
    """The Ingress routes / to the cabinet and /api to the gateway: their /metrics must not be
    public. A proxy adds X-Forwarded-For; Prometheus, calling the pod, does not."""
    for client in (create_web_app(make_config(tmp_path, NO_BROKER)).test_client(), gateway):
        assert client.get("/metrics").status_code == 200
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}
                          ).status_code == 404
        assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.7"}
                          ).status_code == 404


def test_the_web_cabinet_counts_by_flask_endpoint(tmp_path):
    client = create_web_app(make_config(tmp_path, NO_BROKER)).test_client()
    labels = {"app": "web", "method": "GET", "route": "healthz", "status": "200"}
    before = value(scrape(client), "nesk_http_requests_total", **labels) or 0
    assert client.get("/healthz").status_code == 200
    assert value(scrape(client), "nesk_http_requests_total", **labels) == before + 1


def _closed_port() -> socket.socket:
    """A port bound but not listening: connecting is refused (a broker that is down)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_service_answers_metrics_with_the_broker_down(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'svc.db'}")
    AnyOutbox.metadata.create_all(engine)
    with Session(engine) as session:  # an event committed 30 s ago, not yet published
        session.add(AnyOutbox(event_id="e-1", event_type="thing_happened", body="{}",
                              created_at=clock.now() - timedelta(seconds=30), attempts=0))
        session.commit()
    down = _closed_port()
    registry = CollectorRegistry()
    registry.register(metrics.ServiceStateCollector(
        "svc", f"amqp://guest:guest@127.0.0.1:{down.getsockname()[1]}/", engine, AnyOutbox,
        ["evt-x-thing_happened--svc.on_thing.dead"]))
    port = free_port()
    thread, sock = metrics.serve(registry, "127.0.0.1", port)
    try:
        response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
    finally:
        thread.kill()
        sock.close()
        down.close()
        engine.dispose()
    assert response.status_code == 200
    text = response.text
    assert value(text, "nesk_metrics_source_up", service="svc", source="broker") == 0
    assert value(text, "nesk_metrics_source_up", service="svc", source="database") == 1
    assert value(text, "nesk_dead_letter_queue_messages") is None  # unknown, not 0
    assert value(text, "nesk_outbox_pending", service="svc") == 1
    assert value(text, "nesk_outbox_oldest_pending_seconds", service="svc") >= 30


def test_ocr_timer_counts_reads_in_flight_and_times_them_by_outcome():
    registry = metrics.REGISTRY

    def sample(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0

    in_flight = sample("nesk_ocr_in_flight")
    read, rejected = (sample("nesk_ocr_seconds_count", outcome=o) for o in ("read", "rejected"))
    with metrics.ocr_timer(rejected=(ValueError,)):
        assert sample("nesk_ocr_in_flight") == in_flight + 1
    with pytest.raises(ValueError), metrics.ocr_timer(rejected=(ValueError,)):
        raise ValueError("not an image")
    assert sample("nesk_ocr_in_flight") == in_flight
    assert sample("nesk_ocr_seconds_count", outcome="read") == read + 1
    assert sample("nesk_ocr_seconds_count", outcome="rejected") == rejected + 1


@pytest.fixture
def gunicorn_gateway(tmp_path) -> Iterator[dict[str, Any]]:
    """The gateway as `make run` starts it: gunicorn, two worker processes."""
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), "GATEWAY_BIND": f"127.0.0.1:{port}",
           "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "2", "AMQP_URI": NO_BROKER,
           "NESK_ENV": "test", "LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    load_public_key(make_config(tmp_path, NO_BROKER))  # the dev key pair, made once, not racing
    folder = tmp_path / "metrics" / "gateway"
    folder.mkdir(parents=True)
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gateway/gunicorn_conf.py", "gateway.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # two workers importing the app on a busy machine
    while True:
        try:
            requests.get(url + "/healthz", timeout=(5, 120))  # a worker may still be importing
            break
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
    try:
        yield {"url": url, "folder": folder}
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        process.wait(timeout=60)


def test_gunicorn_workers_are_summed_at_metrics(gunicorn_gateway):
    url, folder = gunicorn_gateway["url"], gunicorn_gateway["folder"]
    assert not (folder / "counter_1.db").exists()  # the folder was emptied at start
    labels = {"app": "gateway", "method": "GET", "route": "/healthz", "status": "200"}
    sent = 1  # the fixture's
    deadline = time.monotonic() + 60
    # Until both workers have answered (a new connection each time: either may take it).
    while len({p.stem.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}) < 2:
        assert time.monotonic() < deadline, "the metrics files of two workers never appeared"
        requests.get(url + "/healthz", timeout=30)
        sent += 1
    for _ in range(4):  # whichever worker answers the scrape, it counts both
        text = requests.get(url + "/metrics", timeout=30).text
        assert value(text, "nesk_http_requests_total", **labels) == sent

"""/readyz is cheap: pooled connections only (no reply queue left per call), a service
without a process found without waiting, one check per READY_CACHE_SECONDS."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any, Iterator
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
from nameko.rpc import rpc
from nameko.runners import ServiceRunner

from gateway.app import create_app
from gateway.routes import SERVICES
from tests.conftest import MANAGEMENT, RUN_ID, make_config, private_vhost

PINGS: Counter[str] = Counter()


def _service(name: str) -> type:
    """A stand-in with just the ping every real service has."""

    def ping(self: Any) -> dict[str, Any]:
        PINGS[name] += 1
        return {"service": name, "ok": True}

    return type(f"{name.title()}Stub", (), {"name": name, "ping": rpc(ping)})


@pytest.fixture(scope="module")
def amqp_uri() -> Iterator[str]:
    """A vhost of this module alone: in the run's vhost, other modules' services (and their
    reply queues) come and go while the queues are compared."""
    with private_vhost(f"nesk-test-{RUN_ID}-readiness") as uri:
        yield uri


@pytest.fixture(scope="module")
def stubs(amqp_uri: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    config = make_config(tmp_path_factory.mktemp("ready"), amqp_uri)
    runner = ServiceRunner(config)
    for name in SERVICES:
        runner.add_service(_service(name))
    runner.start()
    try:
        yield {"config": config, "runner": runner}
    finally:
        runner.stop()


def _settled_queues(amqp_uri: str) -> list[str]:
    """The vhost's RPC reply queues once the management API's list stopped changing (what a
    ping would leave behind; other queues of the run's vhost come and go with other modules'
    services)."""
    queues = _queues(amqp_uri)
    for _ in range(20):
        time.sleep(0.5)
        queues, previous = _queues(amqp_uri), queues
        if queues == previous:
            return queues
    return queues


def _queues(amqp_uri: str) -> list[str]:
    vhost = unquote(urlsplit(amqp_uri).path.lstrip("/"))
    response = requests.get(f"{MANAGEMENT.rstrip('/')}/api/queues/{quote(vhost, safe='')}",
                            params={"columns": "name"}, timeout=10)
    response.raise_for_status()
    return sorted(q["name"] for q in response.json() if q["name"].startswith("rpc.reply"))


def test_polling_readyz_opens_no_queue_and_answers_fast(stubs, amqp_uri):
    # Every call checks; a generous READY_TIMEOUT: a busy test machine is not a down service.
    app = create_app({**stubs["config"], "READY_CACHE_SECONDS": 0, "READY_TIMEOUT": 5})
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200  # the pool's proxies are made
        before = _settled_queues(amqp_uri)
        pings = sum(PINGS.values())
        slowest = 0.0
        for _ in range(50):
            started = time.monotonic()
            response = client.get("/readyz")
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code == 200, response.json
            assert response.json["down"] == []
        assert sum(PINGS.values()) - pings == 50 * len(SERVICES)  # really pinged each time
        # no queue made by the polling (one an earlier proxy left may be gone by now)
        assert set(_settled_queues(amqp_uri)) <= set(before)
        assert slowest < 5  # never the READY_TIMEOUT (typically 5-20 ms; a busy box is slower)
    finally:
        app.extensions["rpc"].close()


def test_readyz_is_checked_once_per_cache_period(stubs):
    app = create_app({**stubs["config"], "READY_CACHE_SECONDS": 5})
    client = app.test_client()
    try:
        pings = sum(PINGS.values())
        assert all(client.get("/readyz").status_code == 200 for _ in range(30))
        assert sum(PINGS.values()) - pings == len(SERVICES)
    finally:
        app.extensions["rpc"].close()


def test_a_service_without_a_process_is_down_at_once(stubs, amqp_uri):
    app = create_app({**stubs["config"], "READY_CACHE_SECONDS": 0, "READY_TIMEOUT": 5})
    client = app.test_client()
    try:
        container = next(c for c in stubs["runner"].containers if c.service_name == "requests")
        client.get("/readyz")  # the pool's proxies are made
        container.stop()
        pings = PINGS["requests"]
        before = _settled_queues(amqp_uri)
        for _ in range(5):
            started = time.monotonic()
            response = client.get("/readyz")
            assert time.monotonic() - started < 2  # not READY_TIMEOUT
            assert response.status_code == 503
            assert response.json["down"] == ["requests"]
            assert response.json["services"]["requests"]["error"] == "no process serves it"
        assert PINGS["requests"] == pings
        assert _settled_queues(amqp_uri) == before
    finally:
        app.extensions["rpc"].close()

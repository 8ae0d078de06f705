"""A frozen replica is taken out by its own probe: two processes of one service run as
Kubernetes would run them (shared.runner, a health port each, one database, one vhost);
one is frozen with SIGSTOP, a hub that runs nothing more. Its /livez must stop answering
(the kubelet's timeout) while the other's still answers 200, and answer again after SIGCONT.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "services.requests.service:RequestsService"
PROBE_TIMEOUT = 3  # seconds, as the manifests' livenessProbe: a frozen process never answers
ANSWER_TIMEOUT = 30  # a live one answers, however loaded the machine: only an upper bound
START_TIMEOUT = 120  # a loaded machine starts a service slowly; only an upper bound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _probe(port: int, path: str, timeout: float = ANSWER_TIMEOUT) -> int | None:
    """The status of the probe, None when it does not answer within ``timeout``."""
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=timeout).status_code
    except requests.RequestException:
        return None


def _wait_ready(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        if _probe(port, "/readyz") == 200:
            return
        time.sleep(0.3)
    raise AssertionError(f"the service on {port} did not become ready")


@pytest.fixture
def replicas(amqp_uri: str, tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen, int]]]:
    env = dict(os.environ, AMQP_URI=amqp_uri, VAR_DIR=str(tmp_path), NESK_ENV="test",
               REQUESTS_DATABASE_URL=f"sqlite:///{tmp_path / 'requests.db'}",
               METRICS_HOST="127.0.0.1", LOG_LEVEL="WARNING")
    started: list[tuple[subprocess.Popen, int]] = []
    try:
        for _ in range(2):  # one after the other: the second finds the migrations applied
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "shared.runner", SERVICE], cwd=ROOT,
                env=dict(env, METRICS_PORT=str(port)),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            started.append((process, port))
            _wait_ready(process, port)
        yield started
    finally:
        for process, _ in started:
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process, _ in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_frozen_replica_fails_its_own_liveness_while_the_other_passes(replicas):
    (frozen, frozen_port), (healthy, healthy_port) = replicas
    assert _probe(frozen_port, "/livez") == 200
    assert _probe(healthy_port, "/livez") == 200

    frozen.send_signal(signal.SIGSTOP)
    try:
        # As the kubelet would see it over several periods: never an answer from the frozen
        # one, always 200 from the other (an RPC ping here alternated 0 1 0 1).
        for _ in range(3):
            assert _probe(frozen_port, "/livez", PROBE_TIMEOUT) is None
            assert _probe(healthy_port, "/livez") == 200
            assert _probe(healthy_port, "/readyz") == 200
    finally:
        frozen.send_signal(signal.SIGCONT)

    deadline = time.monotonic() + START_TIMEOUT
    while _probe(frozen_port, "/livez") != 200:
        assert time.monotonic() < deadline, "the thawed replica did not answer again"
        time.sleep(0.3)


def test_readiness_names_its_checks_and_metrics_share_the_port(replicas):
    _, port = replicas[0]
    answer = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "checks": {"consuming": True, "database": True}}
    assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=30).json()["checks"] == {
        "amqp": True}
    assert "nesk_workers" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text


def test_a_database_outage_fails_readiness_only_so_no_pod_is_restarted():
    from sqlalchemy import create_engine

    from shared.health import ConsumerWatch, HealthChecks

    unreachable = create_engine("postgresql+psycopg2://nesk@127.0.0.1:1/nesk")
    checks = HealthChecks(ConsumerWatch(None), unreachable, timeout=30)
    assert checks.ready() == {"consuming": True, "database": False}
    assert checks.live() == {"amqp": True}

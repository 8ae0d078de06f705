"""Every log line is one JSON object: gunicorn's own lines too, the time in ISO 8601 with the
zone offset, and the request id kept in work offloaded to eventlet's native thread pool."""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from eventlet import patcher

from shared import logs
from shared.blocking import offload
from tests.unit.test_metrics import NO_BROKER, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the processes' JSON handler into a string."""
    out = io.StringIO()
    handler = logs.json_handler("test")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    logger = logging.getLogger("tests.logs")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger, out
    logger.handlers[:] = []


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_offloaded_work_logs_with_the_callers_request_id(captured):
    logger, out = captured
    assert patcher.is_monkey_patched("thread")  # the unit suite runs under eventlet
    native_ident = patcher.original("_thread").get_ident

    def work(text: str) -> int:
        logger.info(text)
        return native_ident()

    logs.set_request_id("req-offload-1")
    try:
        pool_thread = offload(work, "hashed")
    finally:
        logs.set_request_id(None)
    assert pool_thread != native_ident()  # it did run in another OS thread
    offload(work, "no caller id")  # a reused pool thread keeps no earlier caller's id
    first, second = lines(out.getvalue())
    assert (first["message"], first["request_id"], first["service"]) == \
        ("hashed", "req-offload-1", "test")
    assert (second["message"], second["request_id"]) == ("no caller id", None)


@pytest.fixture
def moscow_time() -> Iterator[None]:
    """The process's local zone set to UTC+3 (no daylight saving), as on a supplier's host."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Moscow"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_the_time_is_iso_8601_with_the_zone_offset(captured, moscow_time):
    logger, out = captured
    logger.warning("zoned")
    (line,) = lines(out.getvalue())
    moment = datetime.fromisoformat(line["ts"])
    assert "T" in line["ts"]
    assert moment.utcoffset() == timedelta(hours=3)
    assert abs(moment.timestamp() - time.time()) < 600


@pytest.mark.parametrize("app", ["gateway", "web"])
def test_gunicorns_own_lines_are_json(app, tmp_path):
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), f"{app.upper()}_BIND": f"127.0.0.1:{port}",
           f"{app.upper()}_WORKERS": "1", "AMQP_URI": NO_BROKER, "NESK_ENV": "test",
           "LOG_LEVEL": "INFO", "TZ": "Asia/Krasnoyarsk"}  # UTC+7: the zone must show
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", f"{app}/gunicorn_conf.py", f"{app}.wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 120  # a worker importing the app on a busy machine
        while True:
            try:  # an answer means the master and a booted worker have logged
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=(5, 120))
                break
            except requests.ConnectionError:
                assert process.poll() is None, stderr.read_text()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        process.wait(timeout=60)
    text = stderr.read_text()
    found = lines(text)  # every line parses, or this raises
    messages = [line["message"] for line in found if line["logger"] == "gunicorn.error"]
    assert any(m.startswith("Starting gunicorn") for m in messages), text[-2000:]
    assert any(m.startswith("Booting worker") for m in messages), text[-2000:]
    assert any(m.startswith("Shutting down") for m in messages), text[-2000:]
    assert {line["service"] for line in found} == {app}
    assert {datetime.fromisoformat(line["ts"]).utcoffset() for line in found} == {timedelta(hours=7)}

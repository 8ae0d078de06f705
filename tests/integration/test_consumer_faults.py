"""Faults in consumers and workers, on the real broker and databases (SQLite, PostgreSQL):
a transient failure is retried with back-off before the dead-letter queue, a dead-lettered
message is replayed by the CLI, and a database error at a worker's end fails that worker only."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any, Callable, Iterator

import pika
import pytest
from nameko.runners import ServiceRunner
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from gateway.rpc import RpcPool
from shared import dead_letters
from shared.clock import ClockProvider
from shared.consumers import ProcessedEventMixin, claim_event, reliable_event_handler
from shared.db import Database
from shared.events import parse_envelope
from shared.service import rpc
from tests.conftest import make_config
from tests.integration.bus import publish

QUEUE = "evt-source-thing_happened--sink.on_thing"
RETRIES = 3

TRANSIENT_LEFT: Counter[str] = Counter()  # text -> database failures still to come
BROKEN: set[str] = set()  # texts the handler cannot take (a bug, fixed later)
ATTEMPTS: Counter[str] = Counter()
BREAK_CLOSE = {"on": False}


def _dropped() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


class SinkBase(DeclarativeBase):
    pass


class Applied(SinkBase):
    __tablename__ = "applied"
    text: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class SinkProcessed(ProcessedEventMixin, SinkBase):
    pass


class FragileDatabase(Database):
    """The session's close fails as on a connection PostgreSQL terminated (while asked to)."""

    def get_dependency(self, worker_ctx: Any) -> Session:
        session = super().get_dependency(worker_ctx)
        if BREAK_CLOSE["on"]:
            close = session.close

            def failing_close() -> None:
                close()
                raise _dropped()

            session.close = failing_close  # type: ignore[method-assign]
        return session


class SinkService:
    name = "sink"
    db = FragileDatabase("sink")
    clock = ClockProvider()

    @reliable_event_handler("source", "thing_happened")
    def on_thing(self, body: dict[str, Any]) -> None:
        envelope = parse_envelope(body)
        text = envelope["payload"]["text"]
        ATTEMPTS[text] += 1
        if TRANSIENT_LEFT[text] > 0:
            TRANSIENT_LEFT[text] -= 1
            raise _dropped()
        if text in BROKEN:
            raise RuntimeError("cannot take it yet")
        if claim_event(self.db, SinkProcessed, envelope, self.clock.now()):
            row = self.db.get(Applied, text) or Applied(text=text, n=0)
            row.n += 1
            self.db.add(row)
        self.db.commit()

    @rpc
    def applied(self, text: str) -> int:
        row = self.db.get(Applied, text)
        return row.n if row else 0


@pytest.fixture(scope="module")
def sink(amqp_uri: str, database_url: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("sink")
    config = make_config(tmp, amqp_uri, SINK_DATABASE_URL=database_url,
                         CONSUMER_RETRY_ATTEMPTS=RETRIES, CONSUMER_RETRY_DELAY=0.1,
                         CONSUMER_RETRY_MAX_DELAY=0.4)
    engine = create_engine(database_url)
    SinkBase.metadata.create_all(engine)
    engine.dispose()
    runner = ServiceRunner(config)
    runner.add_service(SinkService)
    runner.start()
    pool = RpcPool(config, size=4, timeout=3)
    try:
        yield {"config": config, "pool": pool, "amqp_uri": amqp_uri, "runner": runner}
    finally:
        pool.close()
        runner.stop()
        engine = create_engine(database_url)
        SinkBase.metadata.drop_all(engine)
        engine.dispose()


def _eventually(check: Callable[[], Any], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _depth(amqp_uri: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def _dead(amqp_uri: str) -> list[tuple[dict[str, Any], bytes]]:
    """Take every message of the dead-letter queue (headers, body)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get(QUEUE + ".dead", auto_ack=True)
        if method is None:
            break
        found.append((properties.headers or {}, body))
    connection.close()
    return found


def _text() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_transient_failures_are_retried_and_the_event_applied_once(sink):
    text = _text()
    TRANSIENT_LEFT[text] = 2
    publish(sink["amqp_uri"], "source", "thing_happened", {"text": text})
    _eventually(lambda: sink["pool"].call("sink", "applied", {}, text=text) == 1)
    time.sleep(0.5)  # nothing more arrives
    assert ATTEMPTS[text] == 3
    assert sink["pool"].call("sink", "applied", {}, text=text) == 1
    assert _depth(sink["amqp_uri"], QUEUE + ".retry") == 0
    assert [b for _, b in _dead(sink["amqp_uri"]) if text.encode() in b] == []


def test_a_failure_that_lasts_is_dead_lettered_after_the_bounded_retries(sink):
    text = _text()
    TRANSIENT_LEFT[text] = 100
    publish(sink["amqp_uri"], "source", "thing_happened", {"text": text})
    found: list[tuple[dict[str, Any], bytes]] = []
    _eventually(lambda: found.extend(_dead(sink["amqp_uri"])) or found)
    headers, body = found[0]
    assert text.encode() in body
    assert headers["x-retry-count"] == RETRIES
    assert "server closed the connection" in headers["x-error"]
    assert headers["x-original-queue"] == QUEUE
    assert ATTEMPTS[text] == 1 + RETRIES
    TRANSIENT_LEFT[text] = 0


def test_a_bug_is_dead_lettered_at_once_and_replayed_by_the_cli_once_fixed(
        sink, monkeypatch, capsys):
    text = _text()
    BROKEN.add(text)
    publish(sink["amqp_uri"], "source", "thing_happened", {"text": text})
    _eventually(lambda: _depth(sink["amqp_uri"], QUEUE + ".dead") == 1)
    assert ATTEMPTS[text] == 1  # not a transient error: no retry

    monkeypatch.setenv("AMQP_URI", sink["amqp_uri"])
    assert dead_letters.main(["list"]) == 0
    assert f"       1  {QUEUE}.dead" in capsys.readouterr().out
    assert dead_letters.main(["show", QUEUE]) == 0
    assert "cannot take it yet" in capsys.readouterr().out
    assert _depth(sink["amqp_uri"], QUEUE + ".dead") == 1  # show moves nothing

    BROKEN.discard(text)  # the cause is fixed
    assert dead_letters.main(["replay", QUEUE + ".dead"]) == 0
    assert f"1 message(s) replayed to {QUEUE}" in capsys.readouterr().out
    _eventually(lambda: sink["pool"].call("sink", "applied", {}, text=text) == 1)
    assert ATTEMPTS[text] == 2
    assert _depth(sink["amqp_uri"], QUEUE + ".dead") == 0


def test_replay_of_a_message_that_fails_again_stops(sink):
    text = _text()
    BROKEN.add(text)
    publish(sink["amqp_uri"], "source", "thing_happened", {"text": text})
    _eventually(lambda: _depth(sink["amqp_uri"], QUEUE + ".dead") == 1)
    assert dead_letters.replay(sink["amqp_uri"], QUEUE) == 1  # back in the dead queue, not looped
    _eventually(lambda: _depth(sink["amqp_uri"], QUEUE + ".dead") == 1)
    BROKEN.discard(text)
    _dead(sink["amqp_uri"])


def test_a_database_error_at_teardown_fails_that_worker_only(sink):
    container = next(iter(sink["runner"].containers))
    BREAK_CLOSE["on"] = True
    try:
        assert sink["pool"].call("sink", "applied", {}, text="x") == 0
        time.sleep(0.3)  # the teardown has run
        assert not container._died.ready()
        assert sink["pool"].call("sink", "applied", {}, text="x") == 0
        text = _text()  # event handlers' workers too
        publish(sink["amqp_uri"], "source", "thing_happened", {"text": text})
        _eventually(lambda: ATTEMPTS[text] == 1)
    finally:
        BREAK_CLOSE["on"] = False
    _eventually(lambda: sink["pool"].call("sink", "applied", {}, text=text) == 1)
    assert not container._died.ready()

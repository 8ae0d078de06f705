"""The platform every service stands on, exercised with two small services of its own:
``ledger`` records entries and emits an event per entry through the outbox; ``tally``
consumes those events idempotently. Real broker, real databases (SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import eventlet
import pika
import pytest
from marshmallow import Schema, fields
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.runners import ServiceRunner
from sqlalchemy import Integer, String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from gateway.app import create_app
from gateway.routes import SERVICES
from gateway.rpc import RpcPool
from shared import logs
from shared.clock import ClockProvider
from shared.consumers import ProcessedEventMixin, claim_event, reliable_event_handler
from shared.context import RequestContext
from shared.db import Database
from shared.errors import ServiceUnavailable, ValidationFailed
from shared.events import contract, parse_envelope
from shared.outbox import OutboxMixin, OutboxRelay, record_event
from shared.service import OutboxProvider, ServiceBase, rpc
from tests.conftest import make_config
from tests.integration.bus import EventTap


@contract("ledger", "entry_added")
class EntryAdded(Schema):
    """Test event."""

    text = fields.String(required=True)


class LedgerBase(DeclarativeBase):
    pass


class Entry(LedgerBase):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(100))


class LedgerOutbox(OutboxMixin, LedgerBase):
    pass


class TallyBase(DeclarativeBase):
    pass


class Count(TallyBase):
    __tablename__ = "counts"
    text: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class TallyProcessed(ProcessedEventMixin, TallyBase):
    pass


class EchoService:
    name = "echo"
    request = RequestContext()

    @rpc
    def whoami(self) -> dict[str, Any]:
        return {"request_id": logs.get_request_id(), "client_ip": self.request.client_ip}


class LedgerService(ServiceBase):
    name = "ledger"
    config = Config()
    db = Database("ledger")
    outbox = OutboxProvider(LedgerOutbox)
    clock = ClockProvider()
    request = RequestContext()
    echo = RpcProxy("echo")

    @rpc
    def add(self, text: str, fail: bool = False) -> None:
        self.db.add(Entry(text=text))
        record_event(self.db, LedgerOutbox, self.name, "entry_added", {"text": text},
                     self.clock.now())
        if fail:  # a rule broken after the change and its event were staged
            raise ValidationFailed("refused", {"text": "refused"})
        self.db.commit()

    @rpc
    def whoami(self) -> dict[str, Any]:
        return {"request_id": logs.get_request_id(), "nested": self.echo.whoami()}

    @rpc
    def slow(self, seconds: float) -> str:
        eventlet.sleep(seconds)
        return "done"


class TallyService:
    name = "tally"
    db = Database("tally")
    clock = ClockProvider()

    @reliable_event_handler("ledger", "entry_added")
    def on_entry(self, body: dict[str, Any]) -> None:
        envelope = parse_envelope(body)
        if envelope["payload"]["text"] == "poison":
            raise RuntimeError("cannot handle poison")
        if claim_event(self.db, TallyProcessed, envelope, self.clock.now()):
            row = self.db.get(Count, envelope["payload"]["text"]) or Count(
                text=envelope["payload"]["text"], n=0)
            row.n += 1
            self.db.add(row)
        self.db.commit()

    @rpc
    def count(self, text: str) -> int:
        row = self.db.get(Count, text)
        return row.n if row else 0


@pytest.fixture(scope="module")
def platform(amqp_uri: str, database_url: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """ledger and tally share the module's database server but not tables (prefix-free: each
    has its own metadata; on SQLite each gets its own file)."""
    tmp = tmp_path_factory.mktemp("platform")
    tally_url = (f"sqlite:///{tmp / 'tally.db'}" if database_url.startswith("sqlite")
                 else database_url)
    config = make_config(tmp, amqp_uri, LEDGER_DATABASE_URL=database_url,
                         TALLY_DATABASE_URL=tally_url)
    for metadata, url in ((LedgerBase.metadata, database_url), (TallyBase.metadata, tally_url)):
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
    runner = ServiceRunner(config)
    for service in (LedgerService, TallyService, EchoService):
        runner.add_service(service)
    runner.start()
    pool = RpcPool(config, size=4, timeout=5)
    try:
        yield {"config": config, "pool": pool, "amqp_uri": amqp_uri, "ledger_url": database_url}
    finally:
        pool.close()
        runner.stop()
        for metadata, url in ((LedgerBase.metadata, database_url), (TallyBase.metadata, tally_url)):
            engine = create_engine(url)
            metadata.drop_all(engine)
            engine.dispose()


def _entries(url: str, text: str) -> int:
    engine = create_engine(url)
    with Session(engine) as session:
        n = session.scalar(select(func.count()).select_from(Entry).where(Entry.text == text))
    engine.dispose()
    return n


def test_event_follows_the_commit_and_not_a_rollback(platform):
    tap = EventTap(platform["amqp_uri"], "ledger")
    pool = platform["pool"]
    pool.call("ledger", "add", {}, text="kept")
    with pytest.raises(ValidationFailed):
        pool.call("ledger", "add", {}, text="rolled-back", fail=True)
    envelope = tap.wait_for("entry_added", lambda p: p["text"] == "kept")
    assert envelope["producer"] == "ledger" and uuid.UUID(envelope["id"])
    time.sleep(1)  # several relay passes
    assert all(e["payload"]["text"] != "rolled-back" for e in tap.drain())
    assert _entries(platform["ledger_url"], "rolled-back") == 0
    tap.close()


def test_outbox_keeps_events_while_the_broker_is_unreachable(platform, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    LedgerBase.metadata.create_all(engine)
    tap = EventTap(platform["amqp_uri"], "ledger")
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        record_event(session, LedgerOutbox, "ledger", "entry_added", {"text": "queued"}, now)
        session.commit()

        down = OutboxRelay("amqp://guest:guest@127.0.0.1:1/", "ledger")
        assert down.relay(session, LedgerOutbox, now) == 0
        row = session.scalars(select(LedgerOutbox)).one()
        assert row.published_at is None and row.attempts == 1 and row.last_error

        up = OutboxRelay(platform["amqp_uri"], "ledger")
        assert up.relay(session, LedgerOutbox, now) == 1
        assert session.scalars(select(LedgerOutbox)).one().published_at is not None
        assert up.relay(session, LedgerOutbox, now) == 0  # nothing is sent twice
    tap.wait_for("entry_added", lambda p: p["text"] == "queued")
    tap.close()
    engine.dispose()


def _publish(amqp_uri: str, envelope: dict[str, Any]) -> None:
    """As a billing system would: plain pika, JSON body, routing key = event type."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.basic_publish("ledger.events", envelope["type"], json.dumps(envelope).encode(),
                          pika.BasicProperties(content_type="application/json",
                                               delivery_mode=2))
    connection.close()


def _envelope(text: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "entry_added", "version": 1, "producer": "ledger",
            "occurred_at": datetime.now(timezone.utc).isoformat(), "payload": {"text": text}}


def _eventually(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_redelivered_event_is_handled_once(platform):
    envelope = _envelope(f"twice-{uuid.uuid4().hex[:6]}")
    _publish(platform["amqp_uri"], envelope)
    _publish(platform["amqp_uri"], envelope)
    _publish(platform["amqp_uri"], _envelope("marker-" + envelope["payload"]["text"]))
    pool = platform["pool"]
    _eventually(lambda: pool.call("tally", "count", {}, text="marker-" + envelope["payload"]["text"]))
    time.sleep(0.5)
    assert pool.call("tally", "count", {}, text=envelope["payload"]["text"]) == 1


def test_a_failed_event_is_dead_lettered_not_lost(platform):
    _publish(platform["amqp_uri"], _envelope("poison"))
    connection = pika.BlockingConnection(pika.URLParameters(platform["amqp_uri"]))
    channel = connection.channel()
    found: list[Any] = []

    def parked() -> bool:
        method, properties, body = channel.basic_get(
            "evt-ledger-entry_added--tally.on_entry.dead", auto_ack=True)
        if method:
            found.append((properties.headers, json.loads(body)))
        return bool(found)

    _eventually(parked)
    headers, body = found[0]
    assert body["payload"]["text"] == "poison"
    assert "cannot handle poison" in headers["x-error"]
    connection.close()


def test_request_id_travels_across_nested_rpc(platform):
    answer = platform["pool"].call("ledger", "whoami",
                                   {"request_id": "req-42", "client_ip": "203.0.113.9"})
    assert answer == {"request_id": "req-42",
                      "nested": {"request_id": "req-42", "client_ip": "203.0.113.9"}}


def test_a_silent_service_times_out_as_503(platform):
    pool = RpcPool(platform["config"], size=1, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as raised:
        pool.call("ledger", "slow", {}, seconds=3)
    assert time.monotonic() - started < 2
    assert raised.value.fields == {"service": "ledger"}
    # The pool recovers: the next call on a fresh proxy works.
    assert pool.call("ledger", "slow", {}, seconds=0) == "done"
    pool.close()


def test_unknown_service_is_503_at_once(platform):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        platform["pool"].call("nosuchservice", "ping", {})
    assert time.monotonic() - started < 2


def test_gateway_readiness_and_api_say_which_service_is_down(platform):
    # the portal's services do not run in this module: readiness says so, routes answer 503.
    client = create_app(platform["config"]).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["down"] == sorted(SERVICES)
    assert {"auth", "accounts", "readings", "payments", "requests"} <= set(SERVICES)
    response = client.post("/api/v1/auth/captcha")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "service_unavailable"


def test_log_lines_are_json_with_the_request_id(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("ledger", "INFO")
        logs.set_request_id("req-7")
        logging.getLogger("ledger.test").info("entry added", extra={"entry": 5})
    finally:
        logs.set_request_id(None)
        root.handlers[:], root.level = saved[0], saved[1]
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "entry added" and line["request_id"] == "req-7"
    assert line["service"] == "ledger" and line["level"] == "INFO" and line["entry"] == 5


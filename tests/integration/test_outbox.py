"""The outbox relay on the real broker and databases (SQLite and PostgreSQL): events go out in
the order their transactions committed, a row the broker refuses is parked without blocking
the rest, and one relay at a time sends a service's events."""
from __future__ import annotations

import json
import random
import time
from datetime import datetime, timezone
from typing import Any, Iterator

import eventlet
import pika
import pytest
from marshmallow import Schema, fields
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import Integer, String, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.clock import ClockProvider
from shared.context import RequestContext
from shared.db import Database, make_engine
from shared.events import contract
from shared.outbox import OutboxMixin, OutboxRelay, parked_rows, record_event, requeue
from shared.service import OutboxProvider, ServiceBase, rpc
from tests.conftest import make_config
from tests.integration.bus import EventTap

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@contract("ledger", "outbox_note")
class OutboxNote(Schema):
    """Test event of the outbox integration tests."""

    text = fields.String(required=True)


@contract("ledger", "outbox_refused")
class OutboxRefused(Schema):
    """Test event that a subscriber's queue refuses."""

    text = fields.String(required=True)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "outbox_test_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class NoteOutbox(OutboxMixin, Base):
    pass


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    engine = make_engine(database_url, pool_size=12)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def tap(amqp_uri: str) -> Iterator[EventTap]:
    tap = EventTap(amqp_uri, "ledger")
    yield tap
    tap.close()


def note(session: Session, text: str) -> None:
    session.add(Note(text=text))
    record_event(session, NoteOutbox, "ledger", "outbox_note", {"text": text}, NOW)


def published(tap: EventTap, count: int) -> list[str]:
    """The texts of the first ``count`` events the tap got, in arrival order."""
    deadline = eventlet.Timeout(10)
    try:
        while len(tap.drain()) < count:
            eventlet.sleep(0.05)
    finally:
        deadline.cancel()
    return [e["payload"]["text"] for e in tap.received]


def test_events_go_out_in_commit_order_not_in_the_order_they_were_recorded(
        engine, tap, amqp_uri, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writing transaction at a time: nothing to interleave")
    first, second = Session(engine), Session(engine)
    note(first, "recorded first, committed last")
    first.flush()  # its change is written, so it holds a transaction (and would hold an id)
    note(second, "recorded second, committed first")
    second.commit()
    first.commit()
    first.close(), second.close()
    relay = OutboxRelay(amqp_uri, "ledger")
    with Session(engine) as session:
        assert relay.relay(session, NoteOutbox, NOW) == 2
    assert published(tap, 2) == ["recorded second, committed first",
                                 "recorded first, committed last"]


def test_a_relay_running_beside_concurrent_writers_never_goes_back(
        engine, tap, amqp_uri, database_url):
    """Twenty writers commit at random moments while the relay runs: every event is sent once,
    and in id order, so no pass ever sent a row while a smaller id was still to commit."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writing transaction at a time: nothing to interleave")
    relay = OutboxRelay(amqp_uri, "ledger")
    writers_done = eventlet.event.Event()

    def writer(n: int) -> None:
        with Session(engine) as session:
            note(session, f"w{n}")
            session.flush()
            eventlet.sleep(random.uniform(0, 0.05))
            session.commit()

    def relay_loop() -> None:
        with Session(engine) as session:
            while not writers_done.ready():
                relay.relay(session, NoteOutbox, NOW)
                eventlet.sleep(0.002)
            relay.relay(session, NoteOutbox, NOW)

    looping = eventlet.spawn(relay_loop)
    pool = eventlet.GreenPool(10)
    for n in range(20):
        pool.spawn(writer, n)
    pool.waitall()
    writers_done.send()
    looping.wait()
    with Session(engine) as session:
        id_of = {json.loads(body)["payload"]["text"]: row_id for row_id, body in
                 session.execute(select(NoteOutbox.id, NoteOutbox.body))}
    sent = published(tap, 20)
    assert sorted(sent) == sorted(f"w{n}" for n in range(20))
    ids = [id_of[t] for t in sent]
    assert ids == sorted(ids)


def _refuse(amqp_uri: str, routing_key: str) -> pika.BlockingConnection:
    """A subscriber's queue that refuses every message (a full queue with reject-publish):
    the broker nacks a message routed to it."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("ledger.events", exchange_type="topic", durable=True)
    channel.queue_declare("outbox-test-refusing", exclusive=True,
                          arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    channel.queue_bind("outbox-test-refusing", "ledger.events", routing_key)
    return connection


def test_a_message_the_broker_refuses_is_parked_and_the_next_ones_go(engine, tap, amqp_uri):
    with Session(engine) as session:
        note(session, "before")
        session.commit()
        record_event(session, NoteOutbox, "ledger", "outbox_refused", {"text": "refused"}, NOW)
        session.commit()
        note(session, "after")
        session.commit()
    refusing = _refuse(amqp_uri, "outbox_refused")
    relay = OutboxRelay(amqp_uri, "ledger", {"OUTBOX_MAX_ATTEMPTS": 3})
    with Session(engine) as session:
        # One batch: "refused" is nacked, "before" and "after" (published with it) are taken.
        assert relay.relay(session, NoteOutbox, NOW) == 2
        assert relay.relay(session, NoteOutbox, NOW) == 0  # "refused" alone, again
        assert relay.relay(session, NoteOutbox, NOW) == 0  # third refusal parks it
        # A nack means "not every queue took it": the tap's queue did, each time.
        assert published(tap, 5) == ["before", "refused", "after", "refused", "refused"]
        [parked] = parked_rows(session, NoteOutbox)
        assert parked["event_type"] == "outbox_refused"
        assert parked["error"].startswith("MessageNacked")

        refusing.close()  # the subscriber's queue goes away: the cause is fixed
        assert requeue(session, NoteOutbox) == 1
        assert relay.relay(session, NoteOutbox, NOW) == 1
    assert published(tap, 6)[-1] == "refused"


def test_an_unreachable_broker_parks_nothing(engine, tap, amqp_uri):
    with Session(engine) as session:
        note(session, "waits")
        session.commit()
        # (each pass waits out kombu's connection retries: ~5 s)
        down = OutboxRelay("amqp://guest:guest@127.0.0.1:1/", "ledger",
                           {"OUTBOX_MAX_ATTEMPTS": 1})
        for _ in range(2):
            assert down.relay(session, NoteOutbox, NOW) == 0
        assert parked_rows(session, NoteOutbox) == []
        assert session.scalars(select(NoteOutbox.attempts)).one() == 2
        assert OutboxRelay(amqp_uri, "ledger").relay(session, NoteOutbox, NOW) == 1
    assert published(tap, 1) == ["waits"]


def test_one_relay_at_a_time_sends_a_services_events(engine, tap, amqp_uri, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the relay lock is PostgreSQL's (one SQLite file has one process)")
    with Session(engine) as session:
        note(session, "once")
        session.commit()
    relay = OutboxRelay(amqp_uri, "ledger")
    with Session(engine) as other, Session(engine) as session:
        # Another replica's relay is in its pass: it holds the relay lock.
        other.execute(text("SELECT pg_advisory_xact_lock(hashtext('outbox-relay:outbox'))"))
        assert relay.relay(session, NoteOutbox, NOW) == 0
        other.rollback()
        assert relay.relay(session, NoteOutbox, NOW) == 1
    assert published(tap, 1) == ["once"]


def test_a_long_backlog_goes_out_in_batches_in_order(engine, tap, amqp_uri):
    with Session(engine) as session:
        for n in range(250):
            note(session, f"n{n}")
            session.commit()
    relay = OutboxRelay(amqp_uri, "ledger")
    with Session(engine) as session:
        passes = [relay.relay_pass(session, NoteOutbox, NOW) for _ in range(3)]
    assert [(p.sent, p.full) for p in passes] == [(100, True), (100, True), (50, False)]
    assert published(tap, 250) == [f"n{n}" for n in range(250)]


def test_two_relays_on_one_database_send_each_row_once_and_in_order(
        tmp_path, amqp_uri, database_url, tap):
    """Two replicas (each its own engine and relay) and writers committing meanwhile: every
    event reaches the subscriber once, in id (= commit) order. PostgreSQL: the relay advisory
    lock; SQLite (one file, one host): the relay's flock."""
    engines = [make_engine(database_url, pool_size=4) for _ in range(2)]
    Base.metadata.drop_all(engines[0])
    Base.metadata.create_all(engines[0])
    relays = [OutboxRelay(amqp_uri, "ledger") for _ in range(2)]
    writers_done = eventlet.event.Event()
    busy = [0, 0]

    def writer(n: int) -> None:
        with Session(engines[n % 2]) as session:
            note(session, f"w{n}")
            session.commit()
        eventlet.sleep(random.uniform(0, 0.01))

    def replica(k: int) -> None:
        with Session(engines[k]) as session:
            while True:
                finished = writers_done.ready()
                done = relays[k].relay_pass(session, NoteOutbox, NOW, batch=7)
                busy[k] += done.busy
                if finished and not done.busy and not done.full:
                    return
                eventlet.sleep(0.001)

    try:
        replicas = [eventlet.spawn(replica, k) for k in range(2)]
        pool = eventlet.GreenPool(8)
        for n in range(120):
            pool.spawn(writer, n)
        pool.waitall()
        writers_done.send()
        for r in replicas:
            r.wait()
        with Session(engines[0]) as session:
            id_of = {json.loads(body)["payload"]["text"]: row_id for row_id, body in
                     session.execute(select(NoteOutbox.id, NoteOutbox.body))}
            assert session.scalar(select(func.count()).where(
                NoteOutbox.published_at.is_(None))) == 0
        published(tap, 120)
        eventlet.sleep(0.3)  # a duplicate would have arrived by now
        sent = [e["payload"]["text"] for e in tap.drain()]
        assert len(sent) == 120 and set(sent) == {f"w{n}" for n in range(120)}  # once each
        assert [id_of[t] for t in sent] == sorted(id_of.values())  # in commit order
        assert sum(busy) > 0  # they did meet (one found the other sending)
    finally:
        Base.metadata.drop_all(engines[0])
        for e in engines:
            e.dispose()


@contract("notebook", "note_written")
class NoteWritten(Schema):
    """Test event of the prompt-relay test."""

    text = fields.String(required=True)


class NotebookOutbox(OutboxMixin, Base):
    __tablename__ = "notebook_outbox"


class NotebookService(ServiceBase):
    name = "notebook"
    db = Database("notebook")
    outbox = OutboxProvider(NotebookOutbox)
    clock = ClockProvider()
    request = RequestContext()

    @rpc
    def write(self, text: str) -> None:
        self.db.add(Note(text=text))
        record_event(self.db, NotebookOutbox, self.name, "note_written", {"text": text},
                     self.clock.now())
        self.db.commit()


def test_a_committed_event_reaches_a_subscriber_well_before_the_poll(
        engine, tmp_path, amqp_uri, database_url):
    """The relay polls every 5 s here; the commit wakes it, so the event is at the subscriber
    within a fraction of a second, each time."""
    config = make_config(tmp_path, amqp_uri, NOTEBOOK_DATABASE_URL=database_url,
                         OUTBOX_RELAY_INTERVAL="5")
    runner = ServiceRunner(config)
    runner.add_service(NotebookService)
    runner.start()
    tap = EventTap(amqp_uri, "notebook")
    delays = []
    try:
        with ClusterRpcProxy(config) as cluster:
            cluster.notebook.write(text="warm-up")  # connections made, the start pass done
            tap.wait_for("note_written", lambda p: p["text"] == "warm-up")
            for n in range(5):
                cluster.notebook.write(text=f"n{n}")
                committed = time.monotonic()
                tap.wait_for("note_written", lambda p, n=n: p["text"] == f"n{n}", timeout=10)
                delays.append(time.monotonic() - committed)
    finally:
        tap.close()
        runner.stop()
    assert max(delays) < 1.0, delays  # the poll alone would average 2.5 s

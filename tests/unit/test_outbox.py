"""The outbox without a broker: when a staged event becomes a row, and the relay's rules for a
row that cannot be published (parked after OUTBOX_MAX_ATTEMPTS, the rest going on) and for a
broker that cannot be reached (nothing parked, everything waits in order)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from shared import outbox as outbox_module
from shared.events import contract
from shared.outbox import (AnyOutbox, Doorbell, OutboxMixin, OutboxRelay, Outgoing, on_commit,
                           parked_rows, record_event, requeue)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
DOWN = "amqp://guest:guest@127.0.0.1:1/"  # a Publisher connects only when it publishes


@contract("ledger", "outbox_unit_note")
class UnitNote(Schema):
    """Test event of the outbox unit tests."""

    text = fields.String(required=True)


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


class UnitOutbox(OutboxMixin, Base):
    pass


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def note(db: Session, text: str) -> None:
    db.add(Note(text=text))
    record_event(db, UnitOutbox, "ledger", "outbox_unit_note", {"text": text}, NOW)


def texts(db: Session) -> list[str]:
    return [json.loads(body)["payload"]["text"]
            for body in db.scalars(select(UnitOutbox.body).order_by(UnitOutbox.id))]


def test_a_staged_event_becomes_a_row_only_at_commit(db):
    note(db, "a")
    db.flush()  # the change is written; its event is not, yet (its id is drawn at commit)
    assert db.scalars(select(UnitOutbox)).all() == []
    db.commit()
    assert texts(db) == ["a"]
    assert db.scalars(select(Note.text)).all() == ["a"]


def test_a_rollback_or_close_drops_the_staged_event(db):
    note(db, "rolled back")
    db.rollback()
    note(db, "closed")
    db.close()
    note(db, "kept")
    db.commit()
    db.commit()  # a second commit inserts nothing again
    assert texts(db) == ["kept"]


def test_events_of_one_transaction_keep_their_order(db):
    for text in ("1", "2", "3"):
        note(db, text)
    db.commit()
    assert texts(db) == ["1", "2", "3"]


def test_recording_inside_a_savepoint_is_refused(db):
    db.begin_nested()
    with pytest.raises(RuntimeError):
        note(db, "in a savepoint")


class FakePublisher:
    """Refuses (nacks) or fails as told per text, like :class:`BatchPublisher`; records what
    went through and each batch's size."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures
        self.sent: list[str] = []
        self.batches: list[int] = []

    def publish(self, batch: list[Outgoing]
                ) -> tuple[list[BaseException | None], BaseException | None]:
        self.batches.append(len(batch))
        outcomes: list[BaseException | None] = []
        for message in batch:
            text = json.loads(message.body)["payload"]["text"]
            failure = self.failures.get(text)
            if isinstance(failure, OperationalError):  # the broker is down: the batch stops
                return outcomes, failure
            outcomes.append(failure)
            if failure is None:
                self.sent.append(text)
        return outcomes, None


def relay_with(failures: dict[str, Exception], max_attempts: int = 3) -> OutboxRelay:
    relay = OutboxRelay(DOWN, "ledger", {"OUTBOX_MAX_ATTEMPTS": max_attempts})
    relay.publisher = FakePublisher(failures)  # type: ignore[assignment]
    return relay


def test_a_row_refused_max_attempts_times_is_parked_and_the_rest_go_on(db):
    for text in ("a", "poison", "b"):
        note(db, text)
    db.commit()
    relay = relay_with({"poison": RuntimeError("refused by the broker")}, max_attempts=3)
    # One batch: a and b are taken, poison refused (it went out with them).
    assert relay.relay(db, UnitOutbox, NOW) == 2
    assert relay.publisher.sent == ["a", "b"] and relay.publisher.batches == [3]
    assert relay.relay(db, UnitOutbox, NOW) == 0  # poison alone is tried again
    assert relay.relay(db, UnitOutbox, NOW) == 0  # third failure: parked
    assert relay.publisher.batches == [3, 1, 1]
    [parked] = parked_rows(db, UnitOutbox)
    assert parked["error"] == "RuntimeError: refused by the broker" and parked["attempts"] == 3
    assert relay.relay(db, UnitOutbox, NOW) == 0  # a parked row is not tried again
    assert relay.publisher.batches == [3, 1, 1]

    relay.publisher.failures.clear()  # the cause is fixed
    assert requeue(db, UnitOutbox) == 1
    assert relay.relay(db, UnitOutbox, NOW) == 1
    assert relay.publisher.sent == ["a", "b", "poison"]
    assert parked_rows(db, UnitOutbox) == []


def test_a_pass_sends_a_batch_and_says_whether_more_wait(db):
    for n in range(5):
        note(db, str(n))
    db.commit()
    relay = relay_with({})
    first = relay.relay_pass(db, UnitOutbox, NOW, batch=3)
    assert (first.sent, first.full, first.busy) == (3, True, False)
    second = relay.relay_pass(db, UnitOutbox, NOW, batch=3)
    assert (second.sent, second.full) == (2, False)
    assert relay.publisher.sent == ["0", "1", "2", "3", "4"]
    assert relay.publisher.batches == [3, 2]


def test_a_row_that_is_not_json_is_parked(db):
    note(db, "a")
    db.commit()
    db.add(UnitOutbox(event_id="broken", event_type="outbox_unit_note", body="{not json",
                      created_at=NOW, attempts=0))
    db.commit()
    note(db, "b")
    db.commit()
    relay = relay_with({}, max_attempts=2)
    relay.relay(db, UnitOutbox, NOW)
    relay.relay(db, UnitOutbox, NOW)
    assert relay.publisher.sent == ["a", "b"]
    assert parked_rows(db, UnitOutbox)[0]["error"].startswith("JSONDecodeError")


def test_an_unreachable_broker_parks_nothing_and_keeps_the_order(db):
    for text in ("a", "b"):
        note(db, text)
    db.commit()
    relay = relay_with({"a": OperationalError("[Errno 111] ECONNREFUSED"),
                        "b": OperationalError("[Errno 111] ECONNREFUSED")}, max_attempts=2)
    for _ in range(5):
        assert relay.relay(db, UnitOutbox, NOW) == 0
    assert parked_rows(db, UnitOutbox) == []
    rows = db.scalars(select(UnitOutbox).order_by(UnitOutbox.id)).all()
    assert [r.attempts for r in rows] == [5, 0]  # b waits behind a
    assert rows[0].last_error.startswith("OperationalError")
    relay.publisher.failures.clear()  # the broker is back
    assert relay.relay(db, UnitOutbox, NOW) == 2
    assert relay.publisher.sent == ["a", "b"]


def test_requeue_takes_the_given_ids_only(db):
    for text in ("x", "y"):
        note(db, text)
    db.commit()
    relay = relay_with({"x": ValueError("bad"), "y": ValueError("bad")}, max_attempts=1)
    relay.relay(db, UnitOutbox, NOW)
    ids = [row["id"] for row in parked_rows(db, UnitOutbox)]
    assert len(ids) == 2
    assert requeue(db, UnitOutbox, [ids[1]]) == 1
    assert [row["id"] for row in parked_rows(db, UnitOutbox)] == [ids[0]]


def test_the_command_lists_and_requeues_parked_rows(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'readings.db'}"
    engine = create_engine(url)
    AnyOutbox.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(AnyOutbox(event_id="e1", event_type="reading_submitted", body="{}",
                         created_at=NOW, attempts=5,
                         last_error=outbox_module.PARKED + "MessageNacked: "))
        db.commit()
    engine.dispose()
    monkeypatch.setenv("READINGS_DATABASE_URL", url)
    assert outbox_module.main(["parked", "readings"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["event_id"] == "e1" and listed["error"] == "MessageNacked: "
    assert outbox_module.main(["requeue", "readings", "--id", str(listed["id"])]) == 0
    assert capsys.readouterr().out.strip() == "requeued 1"
    assert outbox_module.main(["parked", "readings"]) == 0
    assert capsys.readouterr().out == ""


def test_a_commit_that_adds_events_rings_the_relays_of_that_outbox(db):
    bell = Doorbell()
    stop = on_commit(UnitOutbox, bell.ring)
    try:
        db.add(Note(text="no event"))
        db.commit()
        assert not bell.wait(0)  # a commit without events does not wake the relay
        note(db, "rolled back")
        db.rollback()
        assert not bell.wait(0)
        note(db, "committed")
        db.commit()
        assert bell.wait(0)
        assert not bell.wait(0)  # rung once, then re-armed
    finally:
        stop()
    note(db, "after stop")
    db.commit()
    assert not bell.wait(0)

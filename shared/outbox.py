"""Transactional outbox: an event is a row written in the same transaction as the change,
then relayed to RabbitMQ with publisher confirms. If the broker is down the row stays
pending and a later pass sends it, so a committed change never loses its event and a
rolled-back change never emits one.

Order. A service's events are published in the order their transactions committed, on
PostgreSQL as on SQLite. The relay sends rows by ``id``; what makes ``id`` order the commit
order is when the id is drawn: :func:`record_event` only stages the row, and the commit
inserts it at the very end of the transaction, after the change's own writes, under a
transaction-level advisory lock on PostgreSQL (``pg_advisory_xact_lock``, held until the
commit ends). So an id is drawn only after every smaller id has committed or rolled back, and
the relay can never see id 12 while id 11 is still in flight. SQLite gives the same for free:
it has one writer at a time from its first write to its commit. Under the lock a transaction
only inserts outbox rows (it took its row locks before), so the lock cannot deadlock; it
serialises the last insert and the commit of one service's event-producing transactions.

Promptness. The commit that inserted outbox rows rings the relays of that outbox in the
process (:func:`on_commit`, an ``after_commit`` hook); a relay then sends at once, and polls
only as a fallback (``OUTBOX_POLL_INTERVAL``). A pass publishes its batch on one channel in
confirm mode and waits once for the broker's confirms of the whole batch.

Replicas. One relay at a time sends an outbox: on PostgreSQL the one holding a
transaction-level advisory lock (``pg_try_advisory_xact_lock``) for its whole pass, on SQLite
(replicas share the file, so they share a host) the one holding an exclusive ``flock`` on
``<database file>-<table>.relay-lock``. The others find it busy and try again shortly, so each
row is sent once (again only after a crash between the publish and the mark) and in order.

Parking. A row whose publish fails for a reason of its own (the broker refuses the message,
its body is not JSON...) ``OUTBOX_MAX_ATTEMPTS`` times in a row is parked: left unpublished,
marked ``last_error = 'parked: ...'``, logged, and skipped. The rows of its batch behind it
are sent meanwhile (they were published with it, before its refusal came back), so a refused
row arrives after them when it is finally taken; it is retried at each pass until parked.
``python -m shared.outbox parked <service>`` lists them; ``requeue`` sends them again. A
broker that cannot be reached (or refuses the connection or the exchange) parks nothing: the
rows wait, in order, as long as it takes.

    python -m shared.outbox parked <service>            # the parked rows, with their errors
    python -m shared.outbox requeue <service> [--id N]  # pending again (all, or these ids)
"""
from __future__ import annotations

import argparse
import fcntl
import json
import logging
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Callable, Sequence

import eventlet
from eventlet.event import Event
from eventlet.semaphore import Semaphore

from amqp.exceptions import AccessRefused, MessageNacked, NotFound
from kombu import Connection, Exchange, Producer
from kombu.exceptions import OperationalError
from nameko.constants import PERSISTENT
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Integer, String, Text, event, func, or_, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column

from shared.db import UTCDateTime
from shared.events import make_envelope

log = logging.getLogger(__name__)

PARKED = "parked: "  # prefix of last_error on a parked row (no column of its own: no migration)
_STAGED = "outbox.staged"  # session.info key: rows recorded in the open transaction
_INSERTED = "outbox.inserted"  # session.info key: outbox models the committing transaction fed
DEFAULT_MAX_ATTEMPTS = 5
CONFIRM_TIMEOUT = 30.0  # seconds the broker may take to confirm a batch before it counts as down

# The relays to ring when a commit inserted rows into an outbox model (in this process).
_bells: dict[type, list[Callable[[], None]]] = defaultdict(list)


def on_commit(outbox_model: type[Any], ring: Callable[[], None]) -> Callable[[], None]:
    """Call ``ring()`` after each commit that inserted rows into ``outbox_model`` (in this
    process); return the function that stops it."""
    _bells[outbox_model].append(ring)
    return lambda: _bells[outbox_model].remove(ring)


class Doorbell:
    """What a relay greenthread sleeps on: rung by commits, or its poll interval ends."""

    def __init__(self) -> None:
        self._rung = Event()

    def ring(self) -> None:
        if not self._rung.ready():
            self._rung.send(True)

    def wait(self, timeout: float) -> bool:
        """Sleep until rung (True) or ``timeout`` seconds passed (False); then re-arm."""
        with eventlet.Timeout(timeout, False):
            self._rung.wait()
        rung = self._rung.ready()
        if rung:
            self._rung.reset()
        return rung


class OutboxMixin:
    """Columns of a service's ``outbox`` table: ``class Outbox(OutboxMixin, AuthBase)``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def record_event(session: Session, outbox_model: type[Any], producer: str, event_type: str,
                 payload: dict[str, Any], now: datetime, version: int = 1) -> dict[str, Any]:
    """Stage the event in ``session``'s transaction; it is stored (and later sent) only if the
    caller commits. The row is inserted at commit time, which gives it its place in the
    order (see the module's docstring); a rollback drops it."""
    if session.in_nested_transaction():
        # The row follows the whole transaction, not a savepoint that could roll back alone.
        raise RuntimeError("record_event inside a savepoint: record it outside begin_nested()")
    envelope = make_envelope(producer, event_type, payload, now, version)
    row = outbox_model(event_id=envelope["id"], event_type=event_type,
                       body=json.dumps(envelope, ensure_ascii=False), created_at=now,
                       attempts=0)
    if not session.in_transaction():
        session.begin()  # the staged row belongs to this transaction: its rollback drops it
    session.info.setdefault(_STAGED, []).append(row)
    if not event.contains(session, "before_commit", _insert_staged):
        event.listen(session, "before_commit", _insert_staged)
        event.listen(session, "after_commit", _ring_relays)
        event.listen(session, "after_transaction_end", _drop_staged)
    return envelope


def _insert_staged(session: Session) -> None:
    """Insert the staged rows last, under the service's outbox lock (PostgreSQL)."""
    if session.in_nested_transaction():
        return  # a savepoint's release: the rows wait for the real commit
    rows = session.info.pop(_STAGED, None)
    if not rows:
        return
    session.flush()  # the change's own writes (and row locks) first, outside the lock
    if session.get_bind().dialect.name == "postgresql":
        for table in sorted({row.__table__.name for row in rows}):
            # Released by the commit (or rollback): ids are drawn in commit order.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                            {"key": f"outbox:{table}"})
    session.add_all(rows)
    session.flush()
    session.info.setdefault(_INSERTED, set()).update(type(row) for row in rows)


def _ring_relays(session: Session) -> None:
    """The rows are committed: wake the relays of their outboxes now rather than at a poll."""
    for model in session.info.pop(_INSERTED, ()):
        for ring in list(_bells.get(model, ())):
            ring()


def _drop_staged(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: commit or rollback
        session.info.pop(_STAGED, None)
        session.info.pop(_INSERTED, None)


def _pending(outbox_model: type[Any]) -> Any:
    return (outbox_model.published_at.is_(None),
            or_(outbox_model.last_error.is_(None),
                outbox_model.last_error.not_like(PARKED + "%")))


@dataclass
class Outgoing:
    """One outbox row as a message."""

    body: str
    event_id: str
    event_type: str


class BatchPublisher:
    """Publishes a batch of events on one channel in confirm mode and waits once for the
    broker's confirms of the whole batch (not once per message)."""

    def __init__(self, amqp_uri: str, exchange: Exchange,
                 confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self.connection: Connection | None = None
        self.producer: Producer | None = None
        self.next_tag = 1  # the broker numbers a confirm-mode channel's publishes from 1
        self.batch_first = 1  # the tag of the batch's first message
        self.outcomes: dict[int, bool] = {}  # delivery tag -> acked (True) or nacked (False)

    def _connect(self) -> Producer:
        if self.producer is None:
            connection = Connection(self.amqp_uri, connect_timeout=5)
            try:
                connection.connect()
                channel = connection.channel()
                channel.confirm_select()
                channel.events["basic_ack"].add(lambda tag, multiple: self._settle(
                    tag, multiple, True))
                channel.events["basic_nack"].add(lambda tag, multiple: self._settle(
                    tag, multiple, False))
                producer = Producer(channel, exchange=self.exchange)
                self.exchange(channel).declare()
            except BaseException:
                connection.release()
                raise
            self.connection, self.producer, self.next_tag = connection, producer, 1
            self.outcomes.clear()
        return self.producer

    def _settle(self, tag: int, multiple: bool, acked: bool) -> None:
        # ``multiple``: every tag up to this one (those of earlier batches are settled).
        for t in range(self.batch_first, tag + 1) if multiple else (tag,):
            self.outcomes.setdefault(t, acked)

    def close(self) -> None:
        """Drop the connection (after an error: the next batch opens a new one)."""
        connection, self.connection, self.producer = self.connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already broken: nothing more to release
                log.debug("closing the relay's broker connection failed", exc_info=True)

    def publish(self, batch: Sequence[Outgoing]
                ) -> tuple[list[BaseException | None], BaseException | None]:
        """Publish ``batch`` and wait for its confirms. Return the outcomes of the longest
        confirmed prefix (None: taken; an exception: refused) and the broker error that cut
        the batch short (the rest unknown), or None."""
        try:
            producer = self._connect()
            self.batch_first = self.next_tag
            for message in batch:
                # The stored text is the JSON body: no decode and encode again.
                producer.publish(message.body.encode("utf-8"), routing_key=message.event_type,
                                 content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=PERSISTENT, message_id=message.event_id,
                                 type=message.event_type, retry=False)
                self.next_tag += 1
            deadline = time.monotonic() + self.confirm_timeout
            while any(t not in self.outcomes for t in range(self.batch_first, self.next_tag)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no confirm within {self.confirm_timeout} s")
                assert self.connection is not None
                self.connection.drain_events(timeout=left)
        except Exception as exc:  # reported to the caller; the connection is reset
            outcomes = self._confirmed_prefix()
            self.close()
            return outcomes, exc
        return self._confirmed_prefix(), None

    def _confirmed_prefix(self) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for t in range(self.batch_first, self.next_tag):
            if t not in self.outcomes:
                break
            outcomes.append(None if self.outcomes[t] else MessageNacked("nacked by the broker"))
        self.outcomes.clear()
        return outcomes


@dataclass
class Pass:
    """What one relay pass did."""

    sent: int = 0
    busy: bool = False  # another relay held the outbox: try again shortly
    full: bool = False  # the batch was full: more rows may wait


class OutboxRelay:
    """Publishes pending outbox rows in order, a batch per pass with one confirm wait; parks a
    row that keeps failing for a reason of its own."""

    def __init__(self, amqp_uri: str, producer: str, config: dict[str, Any] | None = None,
                 max_attempts: int | None = None) -> None:
        config = config or {}
        self.publisher = BatchPublisher(amqp_uri, get_event_exchange(producer, config))
        self.max_attempts = int(max_attempts or config.get("OUTBOX_MAX_ATTEMPTS")
                                or DEFAULT_MAX_ATTEMPTS)
        # Failures that are the broker's, not the row's: it cannot be reached, dropped the
        # connection, or refuses the exchange to everyone. Rows wait; none is parked.
        self.broker_errors: tuple[type[BaseException], ...] = (
            OperationalError, AccessRefused, NotFound, TimeoutError, OSError,
            *Connection(amqp_uri).connection_errors)
        # Consecutive failures of each row's own (in this process: a restart gives a row
        # another OUTBOX_MAX_ATTEMPTS tries, still bounded).
        self.failures: dict[int, int] = {}
        self._one_pass = Semaphore()  # one pass at a time per relay (its channel is one)
        self._lock_files: dict[str, IO[str]] = {}

    def relay(self, session: Session, outbox_model: type[Any], now: datetime, batch: int = 100) -> int:
        """Send up to ``batch`` pending events in id (= commit) order; return how many were
        confirmed by the broker (0 when another relay holds the outbox)."""
        return self.relay_pass(session, outbox_model, now, batch).sent

    def relay_pass(self, session: Session, outbox_model: type[Any], now: datetime,
                   batch: int = 100) -> Pass:
        """One pass of :meth:`relay`, telling also whether the outbox was busy or the batch
        full. A row that failed ``max_attempts`` times is parked; a broker failure ends the
        pass, the rows from the first unconfirmed one waiting in order."""
        with self._one_pass:
            table = outbox_model.__table__.name
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                if not session.scalar(select(func.pg_try_advisory_xact_lock(
                        func.hashtext(f"outbox-relay:{table}")))):
                    session.rollback()  # another replica's relay is sending
                    return Pass(busy=True)
                return self._send(session, outbox_model, now, batch, postgres)
            lock = self._sqlite_lock(session, table)
            if lock is not None:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return Pass(busy=True)  # another process's relay is sending
            try:
                return self._send(session, outbox_model, now, batch, postgres)
            finally:
                if lock is not None:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _sqlite_lock(self, session: Session, table: str) -> IO[str] | None:
        """The lock file beside a SQLite database file (None in memory: one process)."""
        path = session.get_bind().url.database
        if not path or path == ":memory:":
            return None
        name = f"{path}-{table}.relay-lock"
        if name not in self._lock_files:
            self._lock_files[name] = open(name, "a")  # noqa: SIM115 - kept for the relay's life
        return self._lock_files[name]

    def _send(self, session: Session, outbox_model: type[Any], now: datetime, batch: int,
              postgres: bool) -> Pass:
        pending = session.execute(
            select(outbox_model.id, outbox_model.event_id, outbox_model.event_type,
                   outbox_model.body)
            .where(*_pending(outbox_model)).order_by(outbox_model.id).limit(batch)).all()
        # PostgreSQL: the transaction (and its relay lock) stays open while publishing.
        # SQLite: hold nothing while talking to the broker (the whole file would be locked);
        # the flock keeps other relays out; a crash between publish and mark may send an
        # event twice, which idempotent consumers absorb.
        if not postgres:
            session.rollback()
        sent: list[int] = []
        errors: dict[int, str] = {}  # row id -> its own failure
        outgoing: list[tuple[int, Outgoing]] = []
        for row_id, event_id, event_type, body in pending:
            try:
                json.loads(body)
            except ValueError as exc:
                errors[row_id] = _describe(exc)
                continue
            outgoing.append((row_id, Outgoing(body, event_id, event_type)))
        cut: int | None = None  # the row the batch stopped at: the rows after it wait
        retry: list[tuple[int, str]] = []  # rows to try again, their failure not counted
        if outgoing:
            outcomes, failure = self.publisher.publish([m for _, m in outgoing])
            for (row_id, _), outcome in zip(outgoing, outcomes):
                if outcome is None:
                    sent.append(row_id)
                else:  # refused (nacked)
                    errors[row_id] = _describe(outcome)
            if failure is not None:
                cut, message = outgoing[len(outcomes)]
                if isinstance(failure, self.broker_errors):  # down, dropped: parks nothing
                    retry.append((cut, _describe(failure)))
                    log.warning("outbox relay failed; will retry",
                                extra={"event_id": message.event_id, "error": retry[0][1]})
                else:  # the message's own (too large...): counts towards parking it
                    errors[cut] = _describe(failure)
        parked: list[tuple[int, str]] = []
        for row_id, error in errors.items():
            if cut is not None and row_id > cut:
                continue  # behind the failure: not tried, waits in order
            count = self.failures[row_id] = self.failures.get(row_id, 0) + 1
            if count < self.max_attempts:
                retry.append((row_id, error))
                log.warning("outbox relay failed; will retry",
                            extra={"row_id": row_id, "error": error, "attempt": count})
            else:
                del self.failures[row_id]
                parked.append((row_id, error))
                log.error("outbox event parked after %d failed attempts", count,
                          extra={"row_id": row_id, "error": error})
        for row_id in sent:
            self.failures.pop(row_id, None)
        if sent:
            session.execute(update(outbox_model).where(outbox_model.id.in_(sent)).values(
                published_at=now, last_error=None, attempts=outbox_model.attempts + 1))
        for row_id, error in parked:
            session.execute(update(outbox_model).where(outbox_model.id == row_id).values(
                last_error=(PARKED + error)[:1000], attempts=outbox_model.attempts + 1))
        for row_id, error in retry:
            session.execute(update(outbox_model).where(outbox_model.id == row_id).values(
                last_error=error, attempts=outbox_model.attempts + 1))
        session.commit()
        return Pass(sent=len(sent), full=len(pending) == batch and cut is None)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:900]


def backlog(session: Session, outbox_model: type[Any], now: datetime) -> dict[str, Any]:
    """What waits in the outbox (for the metrics): ``pending`` rows, ``parked`` rows and the
    age in seconds of the oldest pending one (0 when none). Two indexed aggregates."""
    pending, oldest = session.execute(
        select(func.count(), func.min(outbox_model.created_at))
        .where(*_pending(outbox_model))).one()
    parked = session.scalar(
        select(func.count()).where(outbox_model.published_at.is_(None),
                                   outbox_model.last_error.like(PARKED + "%")))
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return {"pending": pending, "parked": parked or 0, "oldest_pending_seconds": age}


def parked_rows(session: Session, outbox_model: type[Any]) -> list[dict[str, Any]]:
    """The parked rows, oldest first: ``[{id, event_id, event_type, created_at, attempts,
    error}]``."""
    rows = session.execute(
        select(outbox_model).where(outbox_model.published_at.is_(None),
                                   outbox_model.last_error.like(PARKED + "%"))
        .order_by(outbox_model.id)).scalars()
    return [{"id": r.id, "event_id": r.event_id, "event_type": r.event_type,
             "created_at": r.created_at.isoformat(), "attempts": r.attempts,
             "error": r.last_error[len(PARKED):]} for r in rows]


def requeue(session: Session, outbox_model: type[Any], ids: Sequence[int] | None = None) -> int:
    """Make parked rows pending again (all, or those of ``ids``); commit; return how many.
    They are published at the relay's next pass, after the events published meanwhile."""
    query = (update(outbox_model)
             .where(outbox_model.published_at.is_(None),
                    outbox_model.last_error.like(PARKED + "%"))
             .values(last_error=None))
    if ids:
        query = query.where(outbox_model.id.in_(list(ids)))
    count = session.execute(query).rowcount
    session.commit()
    return count


class _Base(DeclarativeBase):
    pass


class AnyOutbox(OutboxMixin, _Base):
    """Any service's ``outbox`` table (they are all alike), for the command line."""


def main(argv: list[str] | None = None) -> int:
    """``parked <service>`` / ``requeue <service> [--id N ...]`` on the service's database."""
    from shared import settings
    from shared.db import make_engine

    parser = argparse.ArgumentParser(prog="python -m shared.outbox")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("parked", help="list the parked events of a service")
    show.add_argument("service", choices=settings.SERVICES)
    again = commands.add_parser("requeue", help="send parked events again")
    again.add_argument("service", choices=settings.SERVICES)
    again.add_argument("--id", type=int, action="append", dest="ids",
                       help="only this row (repeatable); default: every parked row")
    args = parser.parse_args(argv)
    engine = make_engine(settings.database_url(settings.load(), args.service), pool_size=1)
    try:
        with Session(engine) as session:
            if args.command == "parked":
                for row in parked_rows(session, AnyOutbox):
                    print(json.dumps(row, ensure_ascii=False))
            else:
                print(f"requeued {requeue(session, AnyOutbox, args.ids)}")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

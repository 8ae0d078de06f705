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

Parking. A row whose publish fails for a reason of its own (the broker refuses the message,
its body is not JSON...) ``OUTBOX_MAX_ATTEMPTS`` times in a row is parked: left unpublished,
marked ``last_error = 'parked: ...'``, logged, and skipped, so the rows behind it go on.
``python -m shared.outbox parked <service>`` lists them; ``requeue`` sends them again. A
broker that cannot be reached (or refuses the connection or the exchange) parks nothing: the
rows wait, in order, as long as it takes.

    python -m shared.outbox parked <service>            # the parked rows, with their errors
    python -m shared.outbox requeue <service> [--id N]  # pending again (all, or these ids)
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from typing import Any, Sequence

from amqp.exceptions import AccessRefused, NotFound
from kombu import Connection
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import Integer, String, Text, event, func, or_, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column

from shared.db import UTCDateTime
from shared.events import make_envelope

log = logging.getLogger(__name__)

PARKED = "parked: "  # prefix of last_error on a parked row (no column of its own: no migration)
_STAGED = "outbox.staged"  # session.info key: rows recorded in the open transaction
DEFAULT_MAX_ATTEMPTS = 5


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


def record_event(session: Session, outbox_model: type, producer: str, event_type: str,
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


def _drop_staged(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: commit or rollback
        session.info.pop(_STAGED, None)


def _pending(outbox_model: type) -> Any:
    return (outbox_model.published_at.is_(None),
            or_(outbox_model.last_error.is_(None),
                outbox_model.last_error.not_like(PARKED + "%")))


class OutboxRelay:
    """Publishes pending outbox rows in order, one confirmed publish each; parks a row that
    keeps failing for a reason of its own."""

    def __init__(self, amqp_uri: str, producer: str, config: dict[str, Any] | None = None,
                 max_attempts: int | None = None) -> None:
        config = config or {}
        exchange = get_event_exchange(producer, config)
        # retry=False: a down broker fails this pass fast; the rows wait for the next one.
        self.publisher = Publisher(amqp_uri, use_confirms=True, exchange=exchange,
                                   declare=[exchange], serializer="json", retry=False)
        self.max_attempts = int(max_attempts or config.get("OUTBOX_MAX_ATTEMPTS")
                                or DEFAULT_MAX_ATTEMPTS)
        # Failures that are the broker's, not the row's: it cannot be reached, dropped the
        # connection, or refuses the exchange to everyone. Rows wait; none is parked.
        self.broker_errors: tuple[type[BaseException], ...] = (
            OperationalError, AccessRefused, NotFound, *Connection(amqp_uri).connection_errors)
        # Consecutive failures of each row's own (in this process: a restart gives a row
        # another OUTBOX_MAX_ATTEMPTS tries, still bounded).
        self.failures: dict[int, int] = {}

    def relay(self, session: Session, outbox_model: type, now: datetime, batch: int = 100) -> int:
        """Send up to ``batch`` pending events in id (= commit) order; return how many were
        confirmed by the broker. A row that failed ``max_attempts`` times is parked and the
        rows behind it go on; any other failure ends the pass, later rows waiting behind."""
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres and not session.scalar(
                select(func.pg_try_advisory_xact_lock(
                    func.hashtext(f"outbox-relay:{outbox_model.__table__.name}")))):
            session.rollback()  # another replica's relay is sending: one at a time keeps order
            return 0
        pending = session.execute(
            select(outbox_model.id, outbox_model.event_id, outbox_model.event_type,
                   outbox_model.body)
            .where(*_pending(outbox_model)).order_by(outbox_model.id).limit(batch)).all()
        # PostgreSQL: the transaction (and its relay lock) stays open while publishing.
        # SQLite: hold nothing while talking to the broker (the whole file would be locked);
        # a crash between publish and mark may then send an event twice, which idempotent
        # consumers absorb.
        if not postgres:
            session.rollback()
        sent: list[int] = []
        parked: list[tuple[int, str]] = []
        failure: tuple[int, str] | None = None
        for row_id, event_id, event_type, body in pending:
            try:
                self.publisher.publish(json.loads(body), routing_key=event_type,
                                       message_id=event_id, type=event_type,
                                       content_encoding="utf-8")
            except self.broker_errors as exc:  # broker down, connection reset...
                failure = (row_id, _describe(exc))
                log.warning("outbox relay failed; will retry",
                            extra={"event_id": event_id, "error": failure[1]})
                break  # keep the order: later rows wait behind this one
            except Exception as exc:  # refused (nack), not JSON, too large...
                error = _describe(exc)
                count = self.failures[row_id] = self.failures.get(row_id, 0) + 1
                if count < self.max_attempts:
                    failure = (row_id, error)
                    log.warning("outbox relay failed; will retry",
                                extra={"event_id": event_id, "error": error, "attempt": count})
                    break
                del self.failures[row_id]
                parked.append((row_id, error))
                log.error("outbox event parked after %d failed attempts", count,
                          extra={"event_id": event_id, "event_type": event_type,
                                 "error": error})
                continue  # the rows behind it go on
            self.failures.pop(row_id, None)
            sent.append(row_id)
        if sent:
            session.execute(update(outbox_model).where(outbox_model.id.in_(sent)).values(
                published_at=now, last_error=None, attempts=outbox_model.attempts + 1))
        for row_id, error in parked:
            session.execute(update(outbox_model).where(outbox_model.id == row_id).values(
                last_error=(PARKED + error)[:1000], attempts=outbox_model.attempts + 1))
        if failure:
            session.execute(update(outbox_model).where(outbox_model.id == failure[0]).values(
                last_error=failure[1], attempts=outbox_model.attempts + 1))
        session.commit()
        return len(sent)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:900]


def backlog(session: Session, outbox_model: type, now: datetime) -> dict[str, Any]:
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


def parked_rows(session: Session, outbox_model: type) -> list[dict[str, Any]]:
    """The parked rows, oldest first: ``[{id, event_id, event_type, created_at, attempts,
    error}]``."""
    rows = session.execute(
        select(outbox_model).where(outbox_model.published_at.is_(None),
                                   outbox_model.last_error.like(PARKED + "%"))
        .order_by(outbox_model.id)).scalars()
    return [{"id": r.id, "event_id": r.event_id, "event_type": r.event_type,
             "created_at": r.created_at.isoformat(), "attempts": r.attempts,
             "error": r.last_error[len(PARKED):]} for r in rows]


def requeue(session: Session, outbox_model: type, ids: Sequence[int] | None = None) -> int:
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

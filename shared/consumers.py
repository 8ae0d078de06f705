"""Idempotent, loss-free event consumers.

``@reliable_event_handler(producer, event_type)`` is nameko's ``event_handler`` whose
failed messages are not acked away: they go to a dead-letter queue
``<handler queue>.dead`` (with the error in headers) for an operator to inspect and
replay. Inside the handler, :func:`claim_event` records the event id in the same
transaction as the handler's changes, so a redelivered event changes nothing twice.
"""
from __future__ import annotations

import logging
import traceback
from datetime import datetime
from typing import Any, Callable, TypeVar

from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import UTCDateTime
from shared.events import parse_envelope

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "dead-letters"
T = TypeVar("T")


class ProcessedEventMixin:
    """Columns of a service's ``processed_events`` table."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime)


def claim_event(session: Session, model: type, envelope: dict[str, Any], now: datetime) -> bool:
    """Mark the event handled in the caller's transaction. False if it already was."""
    if session.get(model, envelope["id"]) is not None:
        return False
    session.add(model(event_id=envelope["id"], event_type=envelope["type"], handled_at=now))
    try:
        session.flush()
    except IntegrityError:  # a concurrent delivery of the same event won the race
        session.rollback()
        return False
    return True


def handle_once(session: Session, model: type, body: dict[str, Any], now: datetime,
                apply: Callable[[dict[str, Any]], T]) -> T | None:
    """Check the envelope, then ``apply(payload)`` unless this event id was handled before;
    the caller commits both together. Returns what ``apply`` returned (None for a repeat)."""
    envelope = parse_envelope(body)
    if claim_event(session, model, envelope, now):
        return apply(envelope["payload"])
    return None


class ReliableEventHandler(EventHandler):
    """An event handler that dead-letters the messages its worker failed on."""

    def setup(self) -> None:
        super().setup()
        self.dead_queue = Queue(f"{self.queue.name}.dead", durable=True,
                                exchange=Exchange(DEAD_LETTER_EXCHANGE, type="direct",
                                                  durable=True),
                                routing_key=f"{self.queue.name}.dead")
        amqp_uri = self.container.config["AMQP_URI"]
        # Declared now, not at the first failure: operators (and monitoring) see it from the start.
        with Connection(amqp_uri) as connection:
            self.dead_queue(connection.default_channel).declare()
        self.dead_publisher = Publisher(amqp_uri, use_confirms=True,
                                        exchange=self.dead_queue.exchange,
                                        declare=[self.dead_queue], serializer="json")

    def handle_message_processed(self, message: Any, result: Any = None,
                                 exc_info: Any = None) -> None:
        if exc_info is not None:
            error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
            try:
                self.dead_publisher.publish(message.payload, routing_key=self.dead_queue.routing_key,
                                            headers={"x-error": error[:1000],
                                                     "x-original-queue": self.queue.name})
                log.error("event handler failed; message dead-lettered",
                          extra={"queue": self.queue.name, "error": error})
            except Exception:
                # Could not park it: give it back to the broker rather than lose it.
                log.exception("dead-lettering failed; requeueing")
                self.queue_consumer.requeue_message(message)
                return
        self.queue_consumer.ack_message(message)


reliable_event_handler = ReliableEventHandler.decorator

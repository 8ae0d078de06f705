"""Idempotent, loss-free event consumers.

``@reliable_event_handler(producer, event_type)`` is nameko's ``event_handler`` whose
failed messages are not acked away. A transient failure (the database or the broker
dropped, a service down: :func:`is_transient`) is retried: the message waits in
``<handler queue>.retry`` for a back-off (a per-message TTL; RabbitMQ then dead-letters it
back into the handler's queue), up to ``CONSUMER_RETRY_ATTEMPTS`` times. Any other failure,
or the last retry's, sends it to the dead-letter queue ``<handler queue>.dead`` (with the
error in headers) for an operator to inspect and replay (``python -m shared.dead_letters``).
A failure that is not transient is also announced as ``<service>.event_rejected``
(``shared.rejections``), so the producer learns which event was refused and why.
Inside the handler, :func:`claim_event` records the event id in the same transaction as the
handler's changes, so a redelivered event changes nothing twice.
"""
from __future__ import annotations

import logging
import random
import socket
import traceback
from datetime import datetime
from typing import Any, Callable, TypeVar

import amqp.exceptions
import kombu.exceptions
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import RpcTimeout, UnknownService
from sqlalchemy import String
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InterfaceError
from sqlalchemy.exc import OperationalError as DatabaseOperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import metrics
from shared import rejections
from shared.db import UTCDateTime
from shared.errors import ServiceUnavailable
from shared.events import parse_envelope

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "dead-letters"
RETRY_HEADER = "x-retry-count"
T = TypeVar("T")

# Failures that say "not now" rather than "never": the same message may well succeed later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseOperationalError,  # connection lost or refused, SQLite busy, serialization failure
    DisconnectionError, InterfaceError,
    kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
    amqp.exceptions.RecoverableConnectionError, amqp.exceptions.RecoverableChannelError,
    ConnectionError, socket.timeout, TimeoutError,  # the broker, a socket, the SQLite lock wait
    RpcTimeout, UnknownService, ServiceUnavailable,  # a service the handler calls is down
)


def is_transient(exc: BaseException) -> bool:
    """Whether a handler's failure may pass by itself, so the message is worth retrying."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # any driver error that SQLAlchemy recognised as a lost connection
    return isinstance(exc, TRANSIENT_ERRORS)


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): ``base`` doubled per attempt, at
    most ``cap``, then a random part of its second half taken off ("equal jitter"), so the
    messages parked by one outage do not all come back in the same instant."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def retry_decision(exc: BaseException, retries_done: int, max_retries: int) -> str:
    """``"retry"`` or ``"dead"`` for a message whose handler raised ``exc`` after
    ``retries_done`` earlier retries."""
    return "retry" if is_transient(exc) and retries_done < max_retries else "dead"


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
    """An event handler that retries transient failures with back-off and dead-letters the
    rest (see the module's docstring)."""

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.max_retries = int(config.get("CONSUMER_RETRY_ATTEMPTS", 5))
        self.retry_base = float(config.get("CONSUMER_RETRY_DELAY", 1))
        self.retry_cap = float(config.get("CONSUMER_RETRY_MAX_DELAY", 60))
        exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        self.dead_queue = Queue(f"{self.queue.name}.dead", durable=True, exchange=exchange,
                                routing_key=f"{self.queue.name}.dead")
        # No consumer: a message sits here until its TTL ends, then RabbitMQ dead-letters it
        # through the default exchange straight into this handler's queue (not to the event
        # exchange: the other subscribers already have it).
        self.retry_queue = Queue(f"{self.queue.name}.retry", durable=True, exchange=exchange,
                                 routing_key=f"{self.queue.name}.retry",
                                 queue_arguments={"x-dead-letter-exchange": "",
                                                  "x-dead-letter-routing-key": self.queue.name})
        amqp_uri = config["AMQP_URI"]
        # Declared now, not at the first failure: operators (and monitoring) see it from the start.
        with Connection(amqp_uri) as connection:
            channel = connection.default_channel
            self.dead_queue(channel).declare()
            self.retry_queue(channel).declare()
        self.dead_publisher = Publisher(amqp_uri, use_confirms=True, exchange=exchange,
                                        declare=[self.dead_queue, self.retry_queue],
                                        serializer="json")

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None,
                      exc_info: Any = None) -> tuple[Any, Any]:
        # Still in the worker (its session and outbox at hand): a refusal for good is
        # announced as <service>.event_rejected before the message is parked.
        if exc_info is not None and not is_transient(exc_info[1]):
            rejections.report(worker_ctx.service, self.source_service, self.event_type,
                              message.payload, exc_info[1], f"{self.queue.name}.dead")
        return super().handle_result(message, worker_ctx, result, exc_info)

    def handle_message_processed(self, message: Any, result: Any = None,
                                 exc_info: Any = None) -> None:
        if exc_info is not None:
            try:
                self._park(message, exc_info[1])
            except Exception:
                # Could not park it: give it back to the broker rather than lose it.
                log.exception("parking a failed message failed; requeueing")
                self.queue_consumer.requeue_message(message)
                return
        self.queue_consumer.ack_message(message)

    def _metric_labels(self) -> tuple[str, str, str]:
        return self.container.service_name, self.method_name, self.queue.name

    def _park(self, message: Any, exc: BaseException) -> None:
        """Send a failed message to the retry queue (with its TTL) or to the dead queue."""
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:1000]
        headers = dict(message.headers or {})
        for name in [h for h in headers if h.startswith(("x-death", "x-first-death",
                                                          "x-last-death"))]:
            del headers[name]  # RabbitMQ's own record of the retry queue's TTLs
        retries = int(headers.get(RETRY_HEADER) or 0)
        where = {"queue": self.queue.name, "error": error, "retries": retries}
        if retry_decision(exc, retries, self.max_retries) == "retry":
            delay = retry_delay(retries + 1, self.retry_base, self.retry_cap)
            headers.update({RETRY_HEADER: retries + 1, "x-error": error})
            self.dead_publisher.publish(message.payload, routing_key=self.retry_queue.routing_key,
                                        headers=headers, expiration=delay)
            metrics.CONSUMER_RETRIES.labels(*self._metric_labels()).inc()
            log.warning("event handler failed transiently; retrying",
                        extra={**where, "delay": round(delay, 2)})
            return
        headers.update({"x-error": error, "x-original-queue": self.queue.name})
        self.dead_publisher.publish(message.payload, routing_key=self.dead_queue.routing_key,
                                    headers=headers)
        metrics.CONSUMER_DEAD_LETTERS.labels(*self._metric_labels()).inc()
        log.error("event handler failed; message dead-lettered", extra=where)


reliable_event_handler = ReliableEventHandler.decorator

"""A billing system on the bus, as an integrator writes one: a plain pika client with a
durable queue of its own bound to the portal's events, acking each message after noting it
and reconnecting whenever the broker goes away."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

import pika

# (exchange, routing key, the payload field naming the entity the event is about)
BINDINGS = (("readings.events", "reading_submitted", "reading_id"),
            ("payments.events", "payment_created", "payment_id"))
QUEUE = "billing-chaos"


class BillingSubscriber:
    def __init__(self, amqp_uri: str) -> None:
        self.parameters = pika.URLParameters(amqp_uri + "?heartbeat=5&connection_attempts=1")
        self.entity_field = {key: field for _, key, field in BINDINGS}
        self.lock = threading.Lock()
        # event type -> entity id -> the distinct event ids that named it
        self.events: dict[str, dict[Any, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.deliveries = 0
        self.redeliveries = 0  # the same event id again (at-least-once; a consumer dedupes)
        self.seen: set[str] = set()
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="billing-subscriber", daemon=True)

    def declare(self) -> None:
        """The queue and its bindings, before any event is published (durable: events that
        arrive while we are disconnected wait for us)."""
        connection = pika.BlockingConnection(self.parameters)
        channel = connection.channel()
        channel.queue_declare(QUEUE, durable=True)
        for exchange, key, _ in BINDINGS:
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            channel.queue_bind(QUEUE, exchange, routing_key=key)
        connection.close()

    def start(self) -> None:
        self.declare()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection = pika.BlockingConnection(self.parameters)
                try:
                    channel = connection.channel()
                    while not self._stop.is_set():
                        method, _, body = channel.basic_get(QUEUE)
                        if method is None:
                            connection.sleep(0.1)
                            continue
                        self._note(json.loads(body))
                        channel.basic_ack(method.delivery_tag)
                finally:
                    if connection.is_open:
                        connection.close()
            except pika.exceptions.AMQPError:  # the broker went away: come back when it does
                self.reconnects += 1
                time.sleep(0.5)

    def _note(self, envelope: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries += 1
            if envelope["id"] in self.seen:
                self.redeliveries += 1
                return
            self.seen.add(envelope["id"])
            field = self.entity_field[envelope["type"]]
            self.events[envelope["type"]][envelope["payload"][field]].add(envelope["id"])

    def count(self, event_type: str, entity: Any) -> int:
        """Distinct events of ``event_type`` about ``entity`` received so far."""
        with self.lock:
            return len(self.events[event_type].get(entity, ()))

    def entities(self, event_type: str) -> set[Any]:
        with self.lock:
            return set(self.events[event_type])

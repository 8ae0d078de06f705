"""A billing system's view of the bus: a plain pika client with its own queue."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import pika
from sqlalchemy import create_engine, text


class EventTap:
    """Binds an exclusive queue to ``<producer>.events`` and collects what arrives."""

    def __init__(self, amqp_uri: str, producer: str, routing_key: str = "#") -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        exchange = f"{producer}.events"
        # Same declaration as nameko's, so whoever comes first, both agree.
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key=routing_key)
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.received
            self.received.append(json.loads(body))

    def wait_for(self, event_type: str, match: Callable[[dict[str, Any]], bool] = lambda p: True,
                 timeout: float = 10) -> dict[str, Any]:
        """The first envelope of ``event_type`` whose payload matches; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for envelope in self.drain():
                if envelope["type"] == event_type and match(envelope["payload"]):
                    return envelope
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} event within {timeout}s; got "
                             f"{[e['type'] for e in self.received]}")

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def publish(amqp_uri: str, producer: str, event_type: str, payload: dict[str, Any],
            event_id: str | None = None) -> dict[str, Any]:
    """Publish an event envelope the way any billing system would: plain AMQP, JSON body."""
    envelope = {"id": event_id or str(uuid.uuid4()), "type": event_type, "version": 1,
                "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": producer,
                "payload": payload}
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare(f"{producer}.events", exchange_type="topic", durable=True)
    channel.confirm_delivery()
    channel.basic_publish(f"{producer}.events", event_type, json.dumps(envelope).encode(),
                          pika.BasicProperties(content_type="application/json", delivery_mode=2))
    connection.close()
    return envelope


def wait_row(database_url: str, query: str, params: dict[str, Any], what: str,
             timeout: float = 10) -> None:
    """Until ``query`` finds a row in a service's database (what it learnt from an event)."""
    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(text(query), params).first():
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"{what} not within {timeout}s")


def wait_handled(database_url: str, event_id: str, timeout: float = 10) -> None:
    """Until the consuming service recorded the event id as processed."""
    wait_row(database_url, "SELECT 1 FROM processed_events WHERE event_id = :e",
             {"e": event_id}, f"event {event_id} handled", timeout)

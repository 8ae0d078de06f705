"""A billing system's client of the portal's bus: a program to copy (Python 3.11, pika).

It declares a durable queue of its own bound to the portal's events it wants, handles each
event id once (a small SQLite file remembers them, in the same transaction as what handling
changed), acknowledges a message only after that commit, and answers:

* ``readings.reading_submitted`` → ``billing.reading_accepted`` and, when the meter's previous
  reading is known, ``billing.charge_posted`` for the period (consumption × ``PRICE``);
* ``payments.payment_succeeded`` → the payment is recorded;
* ``<service>.event_rejected`` → the refusal is recorded and logged: fix the data and
  publish a corrected event (with a new id).

Every event it publishes is an envelope with a fresh id, to the topic exchange
``billing.events`` with routing key = type, persistent, with publisher confirms: the way the
portal expects (docs/asyncapi.yaml, docs/contracts/events/).

    python docs/examples/billing_client.py --amqp amqp://guest:guest@127.0.0.1:5672/ \\
        --db billing-client.sqlite3

A crash after publishing but before the commit makes the broker deliver the event again: the
answers go out twice, which the portal tolerates (a reading accepted twice is accepted; the
latest charge of a period replaces the earlier one).
"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

import pika

log = logging.getLogger("billing_client")

QUEUE = "billing.portal-events"
SUBSCRIPTIONS = (("readings", "reading_submitted"), ("payments", "payment_succeeded"),
                 ("accounts", "event_rejected"), ("readings", "event_rejected"),
                 ("payments", "event_rejected"))
PRICE = Decimal("7.35")  # ₽ per kWh: this example's one tariff
KOPECK = Decimal("0.01")


class Store:
    """The client's SQLite file: event ids handled, the last reading of each meter, the
    payments and refusals heard of."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)  # transactions by hand
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY, type TEXT,
                                                  handled_at TEXT);
            CREATE TABLE IF NOT EXISTS readings (number TEXT, branch TEXT, serial TEXT,
                                                 period TEXT, readings_json TEXT,
                                                 PRIMARY KEY (number, branch, serial));
            CREATE TABLE IF NOT EXISTS payments (payment_id TEXT PRIMARY KEY, amount TEXT,
                                                 paid_at TEXT);
            CREATE TABLE IF NOT EXISTS rejections (rejected_event_id TEXT, service TEXT,
                                                   code TEXT, reason TEXT, fields_json TEXT);
        """)

    def handle_once(self, envelope: dict[str, Any], apply: Callable[[], None]) -> bool:
        """``apply()`` and the record of the event's id in one transaction; False (nothing
        done) when the id was handled before."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.db.execute("SELECT 1 FROM processed WHERE event_id = ?",
                               (envelope["id"],)).fetchone():
                self.db.execute("ROLLBACK")
                return False
            apply()
            self.db.execute("INSERT INTO processed VALUES (?, ?, ?)", (
                envelope["id"], f"{envelope['producer']}.{envelope['type']}",
                datetime.now(timezone.utc).isoformat()))
            self.db.execute("COMMIT")
            return True
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def last_reading(self, number: str, branch: str, serial: str) -> list[int] | None:
        row = self.db.execute("SELECT readings_json FROM readings WHERE number = ? AND "
                              "branch = ? AND serial = ?", (number, branch, serial)).fetchone()
        return json.loads(row[0]) if row else None

    def remember_reading(self, number: str, branch: str, serial: str, period: str,
                         values: list[int]) -> None:
        self.db.execute("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?, ?)",
                        (number, branch, serial, period, json.dumps(values)))


def envelope(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A billing event as the portal expects it: a fresh id, an aware timestamp."""
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "billing",
            "payload": payload}


def declare(channel: Any, queue: str = QUEUE) -> None:
    """Our durable queue, bound to the portal's exchanges (declared as nameko does: durable
    topic exchanges; whoever comes first, both agree)."""
    channel.queue_declare(queue, durable=True)
    for producer, event_type in SUBSCRIPTIONS:
        channel.exchange_declare(f"{producer}.events", exchange_type="topic", durable=True)
        channel.queue_bind(queue, f"{producer}.events", routing_key=event_type)
    channel.exchange_declare("billing.events", exchange_type="topic", durable=True)


def charge_for(previous: list[int], current: list[int], period: str, number: str,
               branch: str) -> dict[str, Any] | None:
    """``billing.charge_posted`` for the consumption between two readings (None: nothing
    consumed). One line per zone, as the bill prints them."""
    lines = []
    for zone, (before, after) in enumerate(zip(previous, current), start=1):
        kwh = after - before
        if kwh > 0:
            amount = (kwh * PRICE).quantize(KOPECK, ROUND_HALF_UP)
            lines.append({"zone": zone, "kwh": kwh, "price": str(PRICE), "amount": str(amount)})
    if not lines:
        return None
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))
    return {"number": number, "branch": branch, "period": period, "amount": str(total),
            "due_date": None, "lines": lines}


class BillingClient:
    """Consumes the queue, answers through ``billing.events``."""

    def __init__(self, amqp_uri: str, store: Store, queue: str = QUEUE) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()  # basic_publish raises if the broker refuses
        self.channel.basic_qos(prefetch_count=20)
        self.store = store
        self.queue = queue
        declare(self.channel, queue)

    def publish(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        event = envelope(event_type, payload)
        self.channel.basic_publish(
            "billing.events", event_type, json.dumps(event, ensure_ascii=False).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                 message_id=event["id"]))
        return event

    # ---- what each event means to billing -------------------------------------------------

    def reading_submitted(self, p: dict[str, Any]) -> None:
        self.publish("reading_accepted", {"reading_id": p["reading_id"]})
        previous = self.store.last_reading(p["number"], p["branch"], p["meter_serial"])
        if previous is not None and not p["rolled_over"]:
            charge = charge_for(previous, p["values"], p["period"], p["number"], p["branch"])
            if charge:
                self.publish("charge_posted", charge)
        self.store.remember_reading(p["number"], p["branch"], p["meter_serial"], p["period"],
                                    p["values"])

    def payment_succeeded(self, p: dict[str, Any]) -> None:
        self.store.db.execute("INSERT OR IGNORE INTO payments VALUES (?, ?, ?)",
                              (p["payment_id"], p["amount"], p["paid_at"]))

    def event_rejected(self, p: dict[str, Any], service: str) -> None:
        log.warning("the portal's %s refused our event %s (%s): %s %s", service,
                    p["rejected_event_id"], p["event_type"], p["reason"], p["fields"])
        self.store.db.execute("INSERT INTO rejections VALUES (?, ?, ?, ?, ?)", (
            p["rejected_event_id"], service, p["code"], p["reason"], json.dumps(p["fields"])))

    def handle(self, event: dict[str, Any]) -> bool:
        """Apply one envelope once; False if its id was handled before."""
        producer, event_type, payload = event["producer"], event["type"], event["payload"]

        def apply() -> None:
            if event_type == "event_rejected":
                self.event_rejected(payload, producer)
            elif (producer, event_type) == ("readings", "reading_submitted"):
                self.reading_submitted(payload)
            elif (producer, event_type) == ("payments", "payment_succeeded"):
                self.payment_succeeded(payload)

        return self.store.handle_once(event, apply)

    def on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            event = json.loads(body)
        except ValueError:
            log.error("not JSON; dropped: %r", body[:200])
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        if not self.handle(event):
            log.info("event %s seen before; acknowledged again", event.get("id"))
        channel.basic_ack(method.delivery_tag)  # only after the commit

    def run(self, inactivity_timeout: float | None = None) -> int:
        """Consume until stopped (or until the queue stays empty ``inactivity_timeout``
        seconds). Returns how many messages it took."""
        taken = 0
        for method, properties, body in self.channel.consume(
                self.queue, inactivity_timeout=inactivity_timeout):
            if method is None:
                break
            self.on_message(self.channel, method, properties, body)
            taken += 1
        self.channel.cancel()
        return taken

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--db", default="billing-client.sqlite3")
    parser.add_argument("--queue", default=QUEUE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    client = BillingClient(args.amqp, Store(args.db), args.queue)
    try:
        client.run()
    except KeyboardInterrupt:
        pass
    finally:
        client.close()


if __name__ == "__main__":
    main()

"""docs/examples/billing_client.py against the real broker and services: it hears a reading
once even when the message comes twice, posts the charge back (payments shows the debt), and
hears the portal's event_rejected for the events the portal refuses (a broken contract, an
account the registry lacks)."""
from __future__ import annotations

import importlib.util
import json
import time
import uuid
from typing import Any, Callable

import pika

from shared.contracts.json_schema import ROOT
from tests.integration.bus import EventTap, publish
from tests.integration.helpers import bearer
from tests.integration.test_readings import customer_with_meter, in_window, submit  # noqa: F401

SERIAL = "1000911502333"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "billing_client", ROOT / "docs" / "examples" / "billing_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def until(what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.1)


def drain_until(client: Any, what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    """Let the client take what has arrived until ``check()`` holds."""
    return until(what, lambda: client.run(inactivity_timeout=0.2) is not None and check(),
                 timeout)


def test_the_example_client_hears_a_reading_once_and_charges_it(sys, in_window, tmp_path):  # noqa: F811
    example = load_example()
    tokens, account_id, number = customer_with_meter(sys, serial=SERIAL)
    store = example.Store(str(tmp_path / "billing.sqlite3"))
    store.remember_reading(number, "mostovskoy", SERIAL, "2000-01", [2900])  # billing's own
    client = example.BillingClient(sys.amqp_uri, store, queue=f"billing-test-{uuid.uuid4()}")
    billing_tap = EventTap(sys.amqp_uri, "billing")
    try:
        response = submit(sys, tokens, account_id, [3007], serial=SERIAL)
        assert response.status_code == 201, response.json
        reading_id = response.json["id"]
        drain_until(client, "the client hearing the reading", lambda: store.db.execute(
            "SELECT 1 FROM processed WHERE type = 'readings.reading_submitted'").fetchone())

        # The same envelope again (a redelivery after a crash before the ack): nothing new.
        heard = billing_tap.wait_for("charge_posted", lambda p: p["number"] == number)
        submitted = _resend_last_reading(sys, client, store)
        assert client.handle(submitted) is False
        assert store.db.execute("SELECT count(*) FROM processed").fetchone()[0] == 1

        assert heard["payload"]["amount"] == "786.45"  # 107 kWh × 7.35
        assert heard["payload"]["lines"] == [
            {"zone": 1, "kwh": 107, "price": "7.35", "amount": "786.45"}]
        until("payments charging it", lambda: sys.client.get(
            f"/api/v1/accounts/{account_id}/debt", headers=bearer(tokens)).json.get("debt")
            == "786.45")
        until("readings hearing billing's acceptance", lambda: sys.client.get(
            f"/api/v1/accounts/{account_id}/readings", headers=bearer(tokens)
        ).json["items"][0]["status"] == "accepted")
        time.sleep(0.5)
        billing_tap.drain()
        answers = [e["type"] for e in billing_tap.received if e["payload"].get("number") == number
                   or e["payload"].get("reading_id") == reading_id]
        assert sorted(answers) == ["charge_posted", "reading_accepted"]  # once each
    finally:
        billing_tap.close()
        client.close()


def _resend_last_reading(sys, client, store) -> dict[str, Any]:
    """Publish the reading_submitted the client handled once more, with the same id (as the
    readings service's outbox keeps it), and let the client take it from its queue: it is
    acknowledged, not applied again."""
    event_id = store.db.execute("SELECT event_id FROM processed").fetchone()[0]
    original = json.loads(_outbox_row(sys, event_id))
    connection = pika.BlockingConnection(pika.URLParameters(sys.amqp_uri))
    try:
        connection.channel().basic_publish(
            "readings.events", "reading_submitted", json.dumps(original).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2))
    finally:
        connection.close()
    before = store.db.execute("SELECT count(*) FROM processed").fetchone()[0]
    until("the client taking the copy", lambda: client.run(inactivity_timeout=0.5))
    assert store.db.execute("SELECT count(*) FROM processed").fetchone()[0] == before
    return original


def _outbox_row(sys, event_id: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(sys.config["READINGS_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT body FROM outbox WHERE event_id = :e"),
                                      {"e": event_id}).scalar_one()
    finally:
        engine.dispose()


def test_the_portal_tells_billing_which_event_it_refused(sys, tmp_path):
    example = load_example()
    store = example.Store(str(tmp_path / "billing.sqlite3"))
    client = example.BillingClient(sys.amqp_uri, store, queue=f"billing-test-{uuid.uuid4()}")
    try:
        # The two examples: a number of 2 digits, a bill line in zone "T1".
        bad_account = client.publish("account_upserted", {
            "number": "12", "branch": "mostovskoy", "holder_name": "Петров И. С.",
            "address": "ст. Мостовская", "tariff_category": "rural"})
        # Valid, but for an account the registry lacks: the service's rules refuse it.
        unknown_meter = client.publish("inspector_reading_taken", {
            "number": "99999999998", "branch": "mostovskoy", "serial": SERIAL,
            "values": [10], "taken_on": "2026-10-20", "inspector": None})
        bad_charge = publish(sys.amqp_uri, "billing", "charge_posted", {
            "number": "123456789", "branch": "mostovskoy", "period": "2026-10",
            "amount": "10.00", "lines": [{"zone": "T1", "kwh": 1, "price": "10", "amount": "10.00"}]})

        def refusals() -> dict[tuple[str, str], tuple[str, str, dict[str, str]]]:
            """(refused event id, refusing service) → (code, reason, fields)"""
            return {(row[0], row[1]): (row[2], row[3], json.loads(row[4])) for row in
                    store.db.execute("SELECT * FROM rejections")}

        expected = {(bad_account["id"], "accounts"), (bad_charge["id"], "payments"),
                    (unknown_meter["id"], "readings")}
        found = drain_until(client, "the refusals", lambda: (
            expected <= set(refusals()) and refusals()))
        code, reason, fields = found[bad_account["id"], "accounts"]
        assert code == "invalid_event"
        assert fields == {"payload.number": "5 to 20 digits"}
        assert "billing.account_upserted" in reason and "payload.number" in reason
        code, reason, fields = found[bad_charge["id"], "payments"]
        assert code == "invalid_event"
        assert list(fields) == ["payload.lines.0.zone"]
        code, reason, fields = found[unknown_meter["id"], "readings"]
        assert code == "not_found"
        assert reason.startswith("Событие отклонено: в реестре портала нет")
        assert fields == {"number": "not in the accounts registry"}
    finally:
        client.close()

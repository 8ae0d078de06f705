"""The published event contracts: the JSON Schemas under docs/contracts/events/ and
docs/asyncapi.yaml are what the code generates, the AsyncAPI document is valid AsyncAPI 3.0.0,
and on a corpus of good and bad envelopes the published schemas and the consumers' validation
agree: every envelope a consumer refuses, its schema refuses too; every good one both take."""
from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from marshmallow import ValidationError

from shared.contracts import asyncapi, json_schema
from shared.events import parse_envelope

DOCS = json_schema.ROOT / "docs"
SPEC = DOCS / "contracts" / "asyncapi-spec" / "asyncapi-3.0.0.schema.json"
DELETE = object()  # a mutation that removes the field

ACCOUNT = {"number": "123456789", "branch": "mostovskoy"}
GOOD: dict[str, dict[str, Any]] = {
    "billing.account_upserted": {**ACCOUNT, "holder_name": "Петров Иван Сергеевич",
                                 "address": "ст. Мостовская, ул. Мира, 1",
                                 "contract_number": "Д-2020/15", "contract_date": "2020-01-15",
                                 "gis_id": "90BB144120-11", "tariff_category": "rural"},
    "billing.account_closed": {**ACCOUNT, "closed_on": "2026-10-31"},
    "billing.meter_installed": {**ACCOUNT, "serial": "1000911502333", "zones": 2, "digits": 6,
                                "installed_on": "2020-01-15", "verification_due": None},
    "billing.meter_removed": {**ACCOUNT, "serial": "1000911502333", "removed_on": "2026-10-01"},
    "billing.reading_accepted": {"reading_id": 42},
    "billing.reading_rejected": {"reading_id": 42.0, "reason": "less_than_previous"},
    "billing.inspector_reading_taken": {**ACCOUNT, "serial": "1000911502333",
                                        "values": [3200, 0], "taken_on": "2026-10-20",
                                        "inspector": "Сидоров П. П."},
    "billing.charge_posted": {**ACCOUNT, "period": "2026-10", "amount": "1418.55",
                              "due_date": None, "lines": [
                                  {"zone": 1, "kwh": 193, "price": "7.35", "amount": "1418.55"}]},
    "readings.reading_submitted": {
        "reading_id": 7, "account_id": 3, **ACCOUNT, "meter_serial": "1000911502333",
        "period": "2026-11", "values": [3307], "rolled_over": False, "source": "manual",
        "submitted_at": "2026-11-23T09:30:15.123456+03:00"},
    "payments.payment_succeeded": {
        "payment_id": "p-1", "user_id": None, "amount": "1500.00", "source": "card",
        "provider": "sandbox", "paid_at": "2026-11-23T06:30:15Z", "items": [
            {**ACCOUNT, "account_id": 3, "kind": "electricity", "period": "2026-10",
             "amount": "1418.55"},
            {**ACCOUNT, "account_id": 3, "kind": "penalty", "period": None, "amount": "81.45"}]},
    "readings.event_rejected": {
        "rejected_event_id": str(uuid.uuid4()), "producer": "billing",
        "event_type": "inspector_reading_taken", "code": "not_found",
        "reason": "Событие отклонено", "fields": {"payload.serial": "not on this account"},
        "dead_letter_queue": "evt-billing-inspector_reading_taken--readings.x.dead",
        "rejected_at": "2026-11-23T06:30:15+00:00"},
}

# (event, field path, bad value, the published schema refuses it only with format checking)
BAD: list[tuple[str, tuple[Any, ...], Any, bool]] = [
    ("billing.account_upserted", ("number",), "12", False),  # the example
    ("billing.account_upserted", ("number",), "123456789\n", False),
    ("billing.account_upserted", ("number",), "١٢٣٤٥٦٧٨٩", False),  # Arabic-Indic digits
    ("billing.account_upserted", ("number",), 123456789, False),
    ("billing.account_upserted", ("branch",), "", False),
    ("billing.account_upserted", ("branch",), "b" * 33, False),
    ("billing.account_upserted", ("holder_name",), "", False),
    ("billing.account_upserted", ("holder_name",), "Я" * 201, False),
    ("billing.account_upserted", ("holder_name",), DELETE, False),
    ("billing.account_upserted", ("holder_name",), None, False),
    ("billing.account_upserted", ("address",), "a" * 501, False),
    ("billing.account_upserted", ("contract_number",), "9" * 41, False),
    ("billing.account_upserted", ("gis_id",), "9" * 41, False),
    ("billing.account_upserted", ("tariff_category",), "city", False),
    ("billing.account_upserted", ("contract_date",), "15.01.2020", False),
    ("billing.account_upserted", ("contract_date",), "2020-13-01", False),
    ("billing.account_upserted", ("contract_date",), "2021-02-29", True),
    ("billing.account_upserted", ("holder_phone",), "+79181234567", False),  # unknown field
    ("billing.account_closed", ("closed_on",), "2026-10-31T00:00:00", False),
    ("billing.meter_installed", ("zones",), 4, False),
    ("billing.meter_installed", ("zones",), True, False),
    ("billing.meter_installed", ("zones",), "2", False),
    ("billing.meter_installed", ("digits",), 3, False),
    ("billing.meter_installed", ("digits",), 10, False),
    ("billing.meter_installed", ("serial",), "123", False),
    ("billing.meter_installed", ("serial",), "1000-9115", False),
    ("billing.meter_removed", ("removed_on",), None, False),
    ("billing.reading_accepted", ("reading_id",), 0, False),
    ("billing.reading_accepted", ("reading_id",), "42", False),
    ("billing.reading_accepted", ("reading_id",), 42.5, False),
    ("billing.reading_accepted", ("reading_id",), 2**31, False),
    ("billing.reading_rejected", ("reason",), "because", False),
    ("billing.inspector_reading_taken", ("values",), [], False),
    ("billing.inspector_reading_taken", ("values",), [1, 2, 3, 4], False),
    ("billing.inspector_reading_taken", ("values",), [-1], False),
    ("billing.inspector_reading_taken", ("values",), [10**9], False),
    ("billing.inspector_reading_taken", ("values",), ["3200"], False),
    ("billing.inspector_reading_taken", ("inspector",), "И" * 201, False),
    ("billing.charge_posted", ("lines", 0, "zone"), "T1", False),  # the example
    ("billing.charge_posted", ("lines", 0, "zone"), 4, False),
    ("billing.charge_posted", ("lines", 0, "zone"), DELETE, False),
    ("billing.charge_posted", ("lines", 0, "tax"), "0.00", False),
    ("billing.charge_posted", ("lines", 0, "kwh"), -1, False),
    ("billing.charge_posted", ("lines", 0, "price"), 7.35, False),
    ("billing.charge_posted", ("lines", 0, "amount"), "1418.555", False),
    ("billing.charge_posted", ("lines",), [{"zone": z, "kwh": 1, "price": "1", "amount": "1"}
                                           for z in (1, 2, 3, 1)], False),
    ("billing.charge_posted", ("lines",), "zone 1: 193 kWh", False),
    ("billing.charge_posted", ("amount",), 1418.55, False),
    ("billing.charge_posted", ("amount",), "-5.00", False),
    ("billing.charge_posted", ("amount",), "1e3", False),
    ("billing.charge_posted", ("amount",), "NaN", False),
    ("billing.charge_posted", ("amount",), "1 418,55", False),
    ("billing.charge_posted", ("period",), "2026-13", False),
    ("billing.charge_posted", ("period",), "2026-1", False),
    ("billing.charge_posted", ("due_date",), "2026-11-31", True),
    ("readings.reading_submitted", ("period",), "2026-00", False),
    ("readings.reading_submitted", ("values",), [1.5], False),
    ("readings.reading_submitted", ("submitted_at",), "2026-11-23T09:30:15", False),
    ("readings.reading_submitted", ("source",), "telepathy", False),
    ("payments.payment_succeeded", ("items",), [], False),
    ("payments.payment_succeeded", ("items", 0, "kind"), "tip", False),
    ("payments.payment_succeeded", ("items", 0, "card"), "4242", False),
    ("payments.payment_succeeded", ("amount",), "15,00", False),
    ("readings.event_rejected", ("fields",), {"payload.serial": 1}, False),
    ("readings.event_rejected", ("code",), "oops", False),
]
# Envelope mutations, tried on every good event
BAD_ENVELOPES: list[tuple[str, Any, bool]] = [
    ("id", "not-a-uuid", False), ("id", DELETE, False),
    ("occurred_at", "2026-11-23T09:30:15", False),  # no offset
    ("occurred_at", "2026-11-31T09:30:15+03:00", True),
    ("version", 0, False), ("payload", DELETE, False), ("payload", [], False),
    ("trace_id", "abc", False),  # unknown envelope field
]


def schemas() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in json_schema.EVENTS_DIR.glob("*.json")}


def envelope(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    producer, event_type = event.split(".")
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1,
            "occurred_at": "2026-11-23T09:30:15.123456+03:00", "producer": producer,
            "payload": payload}


def mutate(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    document = copy.deepcopy(document)
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return document


def published_refuses(schema: dict[str, Any], instance: Any, with_formats: bool) -> bool:
    checker = jsonschema.FormatChecker() if with_formats else None
    return not jsonschema.Draft7Validator(schema, format_checker=checker).is_valid(instance)


def consumer_refuses(instance: Any) -> bool:
    try:
        parse_envelope(instance)
    except ValidationError:
        return True
    return False


# ---- the committed files are the code's ---------------------------------------------------

def test_committed_event_schemas_are_generated_from_the_code():
    expected = json_schema.expected_files()
    committed = {p.name: p.read_text(encoding="utf-8")
                 for p in json_schema.EVENTS_DIR.glob("*.json")}
    assert sorted(committed) == sorted(expected), \
        "docs/contracts/events/ is stale: run python -m shared.contracts write"
    for name, text in expected.items():
        assert committed[name] == text, f"{name} is stale: run python -m shared.contracts write"


def test_committed_asyncapi_document_is_generated_from_the_code():
    assert asyncapi.ASYNCAPI_FILE.read_text(encoding="utf-8") == asyncapi.render(), \
        "docs/asyncapi.yaml is stale: run python -m shared.contracts write"


def test_every_event_schema_is_valid_draft_07_and_names_its_exchange():
    for name, schema in schemas().items():
        jsonschema.Draft7Validator.check_schema(schema)
        producer, event_type = name.split(".")[:2]
        assert schema["x-amqp"] == {"exchange": f"{producer}.events", "exchange_type": "topic",
                                    "routing_key": event_type}
        assert schema["additionalProperties"] is False
        assert schema["properties"]["payload"]["additionalProperties"] is False


def test_every_array_has_an_item_shape_and_every_object_refuses_unknown_fields():
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            types = node.get("type")
            types = types if isinstance(types, list) else [types]
            if "array" in types:
                assert node.get("items"), f"{where}: an array without items"
            if "object" in types and where.count("/") > 0 and not where.endswith("/fields"):
                assert node.get("additionalProperties") is False, f"{where}: open object"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    for name, schema in schemas().items():
        walk(schema["properties"]["payload"], name)


# ---- the AsyncAPI document ------------------------------------------------------------------

def test_asyncapi_document_is_valid_asyncapi_3_0_0():
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    document = yaml.safe_load(asyncapi.ASYNCAPI_FILE.read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
              for e in jsonschema.Draft7Validator(spec).iter_errors(document)]
    assert errors == []
    broken = copy.deepcopy(document)
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2's word
    assert not jsonschema.Draft7Validator(spec).is_valid(broken)


def test_asyncapi_has_a_message_for_every_contract_and_no_other():
    document = yaml.safe_load(asyncapi.ASYNCAPI_FILE.read_text(encoding="utf-8"))
    contracts = {f"{p}.{t} v{v}" for (p, t, v), _ in json_schema.published()}
    messages = document["components"]["messages"]
    assert {m["title"] for m in messages.values()} == contracts
    for message in messages.values():
        target = DOCS / message["payload"]["schema"]["$ref"]
        assert target.is_file(), target
        assert json.loads(target.read_text(encoding="utf-8"))["title"] == message["title"]


def test_asyncapi_channels_are_the_exchanges_and_routing_keys_nameko_uses():
    document = yaml.safe_load(asyncapi.ASYNCAPI_FILE.read_text(encoding="utf-8"))
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].rsplit("/", 1)[1]
        channel = document["channels"][channel_id]
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert exchange["type"] == "topic" and exchange["durable"] is True
        assert exchange["autoDelete"] is False
        message = document["components"]["messages"][
            operation["messages"][0]["$ref"].rsplit("/", 1)[1]]
        producer, event_type = message["title"].split(" ")[0].split(".")
        assert (exchange["name"], channel["address"]) == (f"{producer}.events", event_type)
        assert operation["action"] == ("receive" if producer == "billing" else "send")


# ---- the corpus: the schema refuses what the consumer refuses ------------------------------

@pytest.mark.parametrize("event", sorted(GOOD))
def test_good_examples_pass_the_consumer_and_the_published_schema(event):
    schema = schemas()[event]
    instance = envelope(event, GOOD[event])
    assert not consumer_refuses(instance)
    assert not published_refuses(schema, instance, with_formats=True)


@pytest.mark.parametrize("event, path, value, format_only", BAD,
                         ids=[f"{e}:{'.'.join(map(str, p))}={str(v)[:20]!r}"
                              for e, p, v, _ in BAD])
def test_what_the_consumer_refuses_the_published_schema_refuses(event, path, value, format_only):
    schema = schemas()[event]
    instance = envelope(event, mutate(GOOD[event], path, value))
    assert consumer_refuses(instance), "not a bad example: the consumer takes it"
    assert published_refuses(schema, instance, with_formats=True)
    if not format_only:  # most validators do not check "format": a pattern says it too
        assert published_refuses(schema, instance, with_formats=False)


@pytest.mark.parametrize("event", sorted(GOOD))
@pytest.mark.parametrize("field, value, format_only", BAD_ENVELOPES)
def test_a_bad_envelope_is_refused_by_both(event, field, value, format_only):
    schema = schemas()[event]
    instance = mutate(envelope(event, GOOD[event]), (field,), value)
    assert consumer_refuses(instance)
    assert published_refuses(schema, instance, with_formats=True)
    if not format_only:
        assert published_refuses(schema, instance, with_formats=False)


def test_the_published_schema_refuses_an_event_under_another_routing_key():
    # The consumer picks the contract by the envelope's type; the schema of a routing key
    # holds its own type only, so a mislabelled envelope is caught by an integrator too.
    instance = envelope("billing.account_closed", GOOD["billing.account_closed"])
    assert published_refuses(schemas()["billing.meter_removed"], instance, with_formats=False)


def test_cli_prints_every_published_schema(capsys):
    from shared.contracts.__main__ import main

    assert main([]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {s["title"] for s in printed} == {
        f"{p}.{t} v{v}" for (p, t, v), _ in json_schema.published()}
    assert main(["bogus"]) == 2


def test_write_regenerates_the_folder_and_drops_stale_files(tmp_path: Path):
    (tmp_path / "billing.retired_event.json").write_text("{}", encoding="utf-8")
    names = json_schema.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert "billing.charge_posted.json" in names


# ---- event_rejected: what a refusal says ----------------------------------------------------

def test_a_refusal_names_every_field_at_fault_by_its_path():
    from shared.rejections import describe

    bad = envelope("billing.charge_posted", mutate(mutate(
        GOOD["billing.charge_posted"], ("lines", 0, "zone"), "T1"), ("number",), "12"))
    with pytest.raises(ValidationError) as refused:
        parse_envelope(bad)
    code, reason, fields = describe(refused.value, "billing", "charge_posted")
    assert code == "invalid_event"
    assert set(fields) == {"payload.number", "payload.lines.0.zone"}
    assert "docs/contracts/events/billing.charge_posted.json" in reason


def test_a_fault_of_the_portal_is_announced_without_its_details():
    from shared.errors import NotFound
    from shared.rejections import describe

    code, reason, fields = describe(KeyError("secret_column"), "billing", "charge_posted")
    assert code == "internal_error" and "secret_column" not in reason and fields == {}
    code, reason, fields = describe(NotFound("Unknown meter", {"serial": "not on this account"}),
                                    "billing", "inspector_reading_taken")
    assert code == "not_found" and reason.startswith("Событие отклонено: ")
    assert fields == {"serial": "not on this account"}


def test_every_service_that_consumes_events_can_announce_a_refusal():
    from shared.contracts.rejections import CONSUMERS

    consuming = {path.parent.name for path in (json_schema.ROOT / "services").glob("*/service.py")
                 if "@reliable_event_handler(" in path.read_text(encoding="utf-8")}
    assert consuming and consuming <= set(CONSUMERS)

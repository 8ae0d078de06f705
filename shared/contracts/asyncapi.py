"""``docs/asyncapi.yaml``: the bus as an AsyncAPI 3.0.0 document, generated from the contracts.

One channel per exchange and routing key (``<producer>.events``, a durable topic exchange as
nameko declares it; routing key = event type), one message per event whose payload is the
committed JSON Schema of its envelope (``docs/contracts/events/``), and the operations from
the portal's point of view: it *sends* its own events and *receives* billing's.
"""
from __future__ import annotations

from typing import Any

import yaml

from shared.contracts.json_schema import ROOT, file_name, published

ASYNCAPI_FILE = ROOT / "docs" / "asyncapi.yaml"
AMQP_BINDING = "0.3.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-07"
EXTERNAL = ("billing",)  # producers outside the portal: the portal receives their events

DESCRIPTION = """\
Events of the НЭСК self-service portal and of the billing systems that feed it.

Every message is a JSON envelope `{id, type, version, occurred_at, producer, payload}`
published to the durable topic exchange `<producer>.events` with routing key = `type`
(persistent, content type application/json). A consumer binds a durable queue of its own to
the exchanges and routing keys it wants, acknowledges after processing, and handles each
`id` once (a message may come twice). Unknown fields are refused in the envelope and in the
payload; a new field is a new `version`.

Billing publishes `billing.*` the same way, with a fresh `id` per event. An event a portal
service refuses for good (it breaks its schema, or names an account or meter the registry
lacks) waits in that service's dead-letter queue and is announced as
`<service>.event_rejected` with the refused `id`, the reason and the fields at fault.
`docs/examples/billing_client.py` is a client to copy."""


def _camel(*parts: str) -> str:
    words = "_".join(parts).replace(".", "_").split("_")
    return words[0] + "".join(w.title() for w in words[1:])


def document() -> dict[str, Any]:
    """The AsyncAPI document as a dict (what ``docs/asyncapi.yaml`` holds)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for (producer, event_type, version), schema in published():
        key = _camel(producer, event_type) + ("" if version == 1 else f"V{version}")
        summary = " ".join((schema.__doc__ or "").split())
        messages[key] = {
            "name": event_type, "title": f"{producer}.{event_type} v{version}",
            "summary": summary, "contentType": "application/json",
            "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {
                "$ref": f"./contracts/events/{file_name(producer, event_type, version)}"}},
        }
        channels.setdefault(_camel(producer, event_type), {
            "address": event_type,
            "title": f"{producer}.events / {event_type}",
            "messages": {},
            "bindings": {"amqp": {
                "is": "routingKey", "bindingVersion": AMQP_BINDING,
                "exchange": {"name": f"{producer}.events", "type": "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"}}},
        })["messages"][key] = {"$ref": f"#/components/messages/{key}"}
        action = "receive" if producer in EXTERNAL else "send"
        channel = _camel(producer, event_type)
        operations[_camel(action, producer, event_type) + ("" if version == 1 else f"V{version}")] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": ("The portal consumes it" if action == "receive"
                        else "The portal publishes it (through the producer's outbox)"),
            "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}
                         if action == "receive" else
                         {"deliveryMode": 2, "bindingVersion": AMQP_BINDING}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "НЭСК личный кабинет: events", "version": "1.0.0",
                 "description": DESCRIPTION,
                 "license": {"name": "MIT"}},
        "defaultContentType": "application/json",
        "servers": {"local": {
            "host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "RabbitMQ of `make run` (AMQP_URI); production: the supplier's "
                           "broker, same exchanges"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a literal block (readable), the rest as PyYAML does it."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render() -> str:
    header = ("# Generated from shared/contracts/ by `python -m shared.contracts write`; "
              "do not edit by hand.\n")
    return header + yaml.dump(document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=100)


def write() -> None:
    ASYNCAPI_FILE.write_text(render(), encoding="utf-8")

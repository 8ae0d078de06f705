"""The event envelope and the registry of event contracts.

Every event on the bus is one JSON object::

    {"id": "<uuid4>", "type": "user_registered", "version": 1,
     "occurred_at": "2026-11-25T13:45:01.123456+00:00", "producer": "auth",
     "payload": {...}}

published to the topic exchange ``<producer>.events`` with routing key ``type`` (nameko's
event topology, so ``@event_handler("auth", "user_registered")`` receives it and a billing
system binds a plain queue to the same exchange). The payload of each ``(type, version)``
is described by a marshmallow schema in ``shared/contracts/``, checked before publishing.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable

from marshmallow import Schema, ValidationError, fields, validate

_CONTRACTS: dict[tuple[str, str, int], type[Schema]] = {}


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    payload = fields.Dict(required=True)


def contract(producer: str, event_type: str, version: int = 1) -> Callable[[type[Schema]], type[Schema]]:
    """Register a payload schema: ``@contract("auth", "user_registered")``."""

    def register(schema: type[Schema]) -> type[Schema]:
        schema.event_key = (producer, event_type, version)  # type: ignore[attr-defined]
        _CONTRACTS[(producer, event_type, version)] = schema
        return schema

    return register


def contracts() -> dict[tuple[str, str, int], type[Schema]]:
    """Every registered event contract (the README's catalogue and the tests iterate this)."""
    import shared.contracts  # noqa: F401  (registers them)

    return dict(_CONTRACTS)


def make_envelope(producer: str, event_type: str, payload: dict[str, Any], occurred_at: datetime,
                  version: int = 1) -> dict[str, Any]:
    """Validate ``payload`` against its contract and wrap it in the envelope (JSON-ready)."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware (consumers require an offset)")
    schema_cls = contracts().get((producer, event_type, version))
    if schema_cls is None:
        raise LookupError(f"no contract for event {producer}.{event_type} v{version}")
    schema = schema_cls()
    errors = schema.validate(payload)
    if errors:
        raise ValidationError(errors)
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": version,
        "occurred_at": occurred_at.isoformat(),
        "producer": producer,
        "payload": schema.dump(schema.load(payload)),
    }


def parse_envelope(body: dict[str, Any]) -> dict[str, Any]:
    """Check an incoming event's envelope and, when its contract is known, its payload."""
    envelope = EnvelopeSchema().load(body)
    key = (envelope["producer"], envelope["type"], envelope["version"])
    schema_cls = contracts().get(key)
    if schema_cls is not None:
        try:
            envelope["payload"] = schema_cls().load(envelope["payload"])
        except ValidationError as error:  # named from the envelope: "payload.number"
            raise ValidationError({"payload": error.messages}) from None
    envelope["id"] = str(envelope["id"])
    return envelope

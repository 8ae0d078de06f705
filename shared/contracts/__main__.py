"""Print every event contract as JSON Schema, for billing teams in any language.

    python -m shared.contracts > events.schema.json
"""
from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields

from shared.events import contracts

_TYPES: list[tuple[type[fields.Field], dict[str, Any]]] = [
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.AwareDateTime, {"type": "string", "format": "date-time"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.Decimal, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}),
    (fields.String, {"type": "string"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Float, {"type": "number"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.Dict, {"type": "object"}),
    (fields.List, {"type": "array"}),
]


def _field_schema(field: fields.Field) -> dict[str, Any]:
    schema = next((dict(s) for cls, s in _TYPES if isinstance(field, cls)), {})
    choices = getattr(field.validate, "choices", None) if field.validate else None
    for validator in getattr(field, "validators", []):
        choices = getattr(validator, "choices", choices)
    if choices:
        schema["enum"] = list(choices)
    if field.allow_none:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def json_schema(producer: str, event_type: str, version: int, payload: type[Schema]) -> dict:
    instance = payload()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{producer}.{event_type} v{version}",
        "description": (payload.__doc__ or "").strip(),
        "type": "object",
        "required": ["id", "type", "version", "occurred_at", "producer", "payload"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": event_type},
            "version": {"const": version},
            "occurred_at": {"type": "string", "format": "date-time"},
            "producer": {"const": producer},
            "payload": {
                "type": "object",
                "required": [name for name, f in instance.fields.items() if f.required],
                "properties": {name: _field_schema(f) for name, f in instance.fields.items()},
            },
        },
        "x-amqp": {"exchange": f"{producer}.events", "exchange_type": "topic",
                   "routing_key": event_type},
    }


def all_schemas() -> list[dict[str, Any]]:
    return [json_schema(*key, schema) for key, schema in sorted(contracts().items())]


if __name__ == "__main__":
    print(json.dumps(all_schemas(), ensure_ascii=False, indent=2))

"""The event contracts as JSON Schema (draft-07), for integrators in any language.

Each schema describes the whole envelope as it travels on the bus, with the payload's
marshmallow rules turned into keywords by apispec's MarshmallowPlugin (Length → min/maxLength
or min/maxItems, Range → minimum/maximum, OneOf → enum, Regexp → pattern, Nested and List →
inline objects and ``items``) plus what apispec cannot know: money as a decimal string, and a
``pattern`` for dates, date-times and UUIDs besides their ``format`` (most validators treat
``format`` as a note, not a check), every pattern ending the string the same way in Python
and in ECMA-262 regular expressions. Unknown fields are refused everywhere
(``additionalProperties: false``), in the envelope and in the payload: the consumers refuse
them too (marshmallow's ``unknown = RAISE``), and a field added to an event is a new version.

The files are committed under ``docs/contracts/events/`` (``python -m shared.contracts write``)
and a unit test fails when they differ from the code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared.contracts.rules import Int, Money, Pattern
from shared.events import EnvelopeSchema, contracts

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "docs" / "contracts" / "events"
DRAFT = "http://json-schema.org/draft-07/schema#"
END = r"(?![\s\S])"  # nothing after: see _portable_end

DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DATE_TIME = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
             r":[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _extra_keywords(self: Any, field: fields.Field, ret: dict[str, Any],
                    **kwargs: Any) -> dict[str, Any]:
    """Keywords apispec does not derive from our fields (see the module's docstring)."""
    if isinstance(field, Money):
        ret.pop("minimum", None), ret.pop("maximum", None)
        return {"pattern": field.regex.pattern}
    if isinstance(field, (fields.AwareDateTime, fields.DateTime)):
        return {"pattern": DATE_TIME}
    if isinstance(field, fields.Date):
        return {"pattern": DATE}
    if isinstance(field, fields.UUID):
        return {"pattern": UUID}
    return {}


def _converter() -> Any:
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # nested: inline
    APISpec("events", "1", openapi_version="3.1.0", plugins=[plugin])  # 3.1: JSON Schema types
    plugin.map_to_openapi_type(Money, "string", None)
    plugin.map_to_openapi_type(Int, "integer", None)
    plugin.converter.add_attribute_function(_extra_keywords)
    return plugin.converter


_CONVERTER = _converter()


def _portable_end(node: Any) -> Any:
    """``$`` lets a trailing newline through in Python's ``re.search`` (what the Python
    jsonschema package uses), not in ECMA-262: ``(?![\\s\\S])`` after it ends the string
    for both."""
    if isinstance(node, dict):
        return {key: (value + END if key == "pattern" and isinstance(value, str)
                      and value.endswith("$") else _portable_end(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_portable_end(value) for value in node]
    return node


def object_schema(schema: type[Schema]) -> dict[str, Any]:
    """One marshmallow schema as a JSON Schema object (required fields, no others)."""
    converted = _CONVERTER.schema2jsonschema(schema)
    converted.pop("title", None)  # apispec's class name; the event's title says more
    return _portable_end(converted)


def envelope_schema(producer: str, event_type: str, version: int,
                    payload: type[Schema]) -> dict[str, Any]:
    """The whole message of one event: the envelope with its payload's schema."""
    envelope = object_schema(EnvelopeSchema)
    envelope["properties"].update({
        "type": {"const": event_type},
        "version": {"const": version},
        "producer": {"const": producer},
        "payload": object_schema(payload),
    })
    return {
        "$schema": DRAFT,
        "$id": f"https://nesk-portal.example/contracts/events/{file_name(producer, event_type, version)}",
        "title": f"{producer}.{event_type} v{version}",
        "description": " ".join((payload.__doc__ or "").split()),
        **envelope,
        "x-amqp": {"exchange": f"{producer}.events", "exchange_type": "topic",
                   "routing_key": event_type},
    }


def file_name(producer: str, event_type: str, version: int) -> str:
    """``<producer>.<type>.json`` for version 1, ``<producer>.<type>.v<N>.json`` after it."""
    return f"{producer}.{event_type}{'' if version == 1 else f'.v{version}'}.json"


def published() -> list[tuple[tuple[str, str, int], type[Schema]]]:
    """The contracts of ``shared/contracts/`` (not the ones tests register for themselves)."""
    return [(key, schema) for key, schema in sorted(contracts().items())
            if schema.__module__.startswith("shared.contracts.")]


def all_schemas() -> list[dict[str, Any]]:
    return [envelope_schema(*key, schema) for key, schema in published()]


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def expected_files() -> dict[str, str]:
    """File name → content of every published event's schema."""
    return {file_name(*key): render(envelope_schema(*key, schema)) for key, schema in published()}


def write(directory: Path = EVENTS_DIR) -> list[str]:
    """Regenerate ``directory``: one file per event, stale ones removed. Returns the names."""
    directory.mkdir(parents=True, exist_ok=True)
    files = expected_files()
    for stale in set(p.name for p in directory.glob("*.json")) - set(files):
        (directory / stale).unlink()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return sorted(files)

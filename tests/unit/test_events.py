"""Event envelopes and the payload contracts."""
import uuid
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from shared.events import contracts, make_envelope, parse_envelope

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)
PAYLOAD = {"user_id": "u-1", "phone": "+79181234567", "email": None, "role": "customer",
           "method": "phone", "consent_version": "2025-09-01"}


def test_envelope_shape():
    envelope = make_envelope("auth", "user_registered", PAYLOAD, AT)
    assert set(envelope) == {"id", "type", "version", "occurred_at", "producer", "payload"}
    assert uuid.UUID(envelope["id"]).version == 4
    assert (envelope["type"], envelope["version"], envelope["producer"]) == (
        "user_registered", 1, "auth")
    assert envelope["occurred_at"] == "2026-03-02T09:30:15.123456+00:00"
    assert envelope["payload"] == PAYLOAD


def test_each_envelope_gets_its_own_id():
    assert (make_envelope("auth", "user_registered", PAYLOAD, AT)["id"]
            != make_envelope("auth", "user_registered", PAYLOAD, AT)["id"])


def test_optional_payload_fields_are_filled_with_none():
    envelope = make_envelope("auth", "user_registered",
                             {"user_id": "u-1", "role": "admin", "method": "admin"}, AT)
    assert envelope["payload"]["phone"] is None and envelope["payload"]["email"] is None


def test_missing_required_field_is_refused():
    payload = {k: v for k, v in PAYLOAD.items() if k != "user_id"}
    with pytest.raises(ValidationError) as info:
        make_envelope("auth", "user_registered", payload, AT)
    assert "user_id" in info.value.messages


@pytest.mark.parametrize("field, value", [("role", "superuser"), ("method", "carrier pigeon"),
                                          ("email", "not-an-email"), ("surprise", 1)])
def test_bad_payload_values_are_refused(field, value):
    with pytest.raises(ValidationError) as info:
        make_envelope("auth", "user_registered", {**PAYLOAD, field: value}, AT)
    assert field in info.value.messages


def test_unknown_event_type_or_version_is_a_lookup_error():
    with pytest.raises(LookupError):
        make_envelope("auth", "user_teleported", {}, AT)
    with pytest.raises(LookupError):
        make_envelope("auth", "user_registered", PAYLOAD, AT, version=2)


def test_parse_round_trip():
    envelope = make_envelope("auth", "user_registered", PAYLOAD, AT)
    parsed = parse_envelope(envelope)
    assert parsed == {**envelope, "occurred_at": AT}


def test_parse_refuses_a_bad_envelope():
    envelope = make_envelope("auth", "user_registered", PAYLOAD, AT)
    for broken in ({**envelope, "id": "nope"}, {**envelope, "version": 0},
                   {**envelope, "occurred_at": "2026-03-02T09:30:15"},
                   {k: v for k, v in envelope.items() if k != "producer"}):
        with pytest.raises(ValidationError):
            parse_envelope(broken)


def test_parse_checks_a_known_payload():
    envelope = make_envelope("auth", "user_registered", PAYLOAD, AT)
    with pytest.raises(ValidationError):
        parse_envelope({**envelope, "payload": {**PAYLOAD, "role": "superuser"}})


def test_parse_passes_an_unknown_event_through():
    envelope = {"id": str(uuid.uuid4()), "type": "meter_read", "version": 1,
                "occurred_at": AT.isoformat(), "producer": "readings", "payload": {"x": 1}}
    assert parse_envelope(envelope)["payload"] == {"x": 1}


def test_naive_occurred_at_is_refused_when_publishing():
    with pytest.raises((ValueError, ValidationError)):
        make_envelope("auth", "user_registered", PAYLOAD, datetime(2026, 3, 2, 9, 30))


def test_every_contract_is_documented():
    registered = contracts()
    assert ("auth", "user_registered", 1) in registered
    for key, schema in registered.items():
        assert schema.__doc__ and schema.__doc__.strip(), key
        assert schema.event_key == key

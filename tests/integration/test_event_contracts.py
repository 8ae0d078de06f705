"""What a billing system receives: every auth event, read with plain pika, matches the JSON
Schema published by ``python -m shared.contracts``."""
from __future__ import annotations

import jsonschema

from shared.contracts.__main__ import all_schemas
from tests.integration.helpers import (PASSWORD, bearer, new_phone, register_by_email,
                                       register_by_phone)

API = "/api/v1/auth"


def test_every_auth_event_matches_its_published_schema(sys):
    schemas = {s["title"]: s for s in all_schemas()}
    tap = sys.tap()
    tokens = register_by_phone(sys, new_phone())
    register_by_email(sys, "contract@example.ru")
    new = new_phone()
    started = sys.client.post(f"{API}/phone/change", headers=bearer(tokens), json={"new_phone": new})
    sys.client.post(f"{API}/phone/change/confirm", headers=bearer(tokens), json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(new)})
    sys.client.post(f"{API}/password/change", headers=bearer(tokens), json={
        "old_password": PASSWORD, "new_password": "Novyi-Parol-7", "new_password_confirmation":
        "Novyi-Parol-7"})
    sys.client.post(f"{API}/me/delete", headers=bearer(tokens), json={"password": "Novyi-Parol-7"})

    tap.wait_for("user_deleted", lambda p: p["user_id"] == tokens["user"]["id"])
    seen = set()
    for envelope in tap.received:
        title = f"{envelope['producer']}.{envelope['type']} v{envelope['version']}"
        jsonschema.validate(envelope, schemas[title], format_checker=jsonschema.FormatChecker())
        seen.add(envelope["type"])
    assert seen == {"user_registered", "contact_confirmed", "phone_changed", "password_changed",
                    "user_deleted"}
    tap.close()

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
                    "sessions_revoked", "user_deleted"}
    tap.close()


def test_every_accounts_event_matches_its_published_schema(sys):
    from tests.integration.test_accounts import link, post_account

    schemas = {s["title"]: s for s in all_schemas()}
    tap = sys.tap("accounts")
    email_user = register_by_email(sys, "accounts.contract@example.ru")
    sys.wait_contact(email_user["user"]["id"])
    number = post_account(sys)
    account_id = link(sys, email_user, number, paperless=True).json["id"]
    helper = register_by_phone(sys, new_phone())
    sys.wait_contact(helper["user"]["id"])
    sys.client.post(f"/api/v1/accounts/{account_id}/trusted", headers=bearer(email_user),
                    json={"phone": helper["user"]["phone"]})
    sys.billing("meter_removed", {"number": number, "branch": "mostovskoy",
                                  "serial": "1000911502333", "removed_on": "2026-11-01"})
    sys.client.post("/api/v1/contract-requests", headers=bearer(email_user), json={
        "branch": "krasnodar", "full_name": "Сидорова Анна", "address": "г. Краснодар"})
    sys.client.delete(f"/api/v1/accounts/{account_id}", headers=bearer(email_user))

    tap.wait_for("account_unlinked", lambda p: p["user_id"] == email_user["user"]["id"])
    seen = set()
    for envelope in tap.received:
        title = f"{envelope['producer']}.{envelope['type']} v{envelope['version']}"
        jsonschema.validate(envelope, schemas[title], format_checker=jsonschema.FormatChecker())
        seen.add(envelope["type"])
    assert seen >= {"account_linked", "account_unlinked", "paperless_consent_changed",
                    "meter_registered", "meter_unregistered", "contract_requested"}
    tap.close()

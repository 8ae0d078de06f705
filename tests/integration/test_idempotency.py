"""Idempotency-Key on creating POSTs, through the gateway and the real services: a retry with
the same key gets the first answer and changes nothing twice."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.integration.helpers import CONSENT, PASSWORD, bearer, error, login, new_phone
from tests.integration.test_readings import (customer_with_meter, in_window,  # noqa: F401
                                             month_day, move_to)

API = "/api/v1"
SERIAL = "1000911502333"
REPLAYED = "Idempotent-Replayed"


def submit(sys, tokens, account_id, values, key, client=None):
    return (client or sys.client).post(
        f"{API}/accounts/{account_id}/readings", json={"meter_serial": SERIAL, "values": values},
        headers={**bearer(tokens), "Idempotency-Key": key})


def readings_of(sys, tokens, account_id) -> list[dict]:
    history = sys.client.get(f"{API}/accounts/{account_id}/readings", headers=bearer(tokens))
    assert history.status_code == 200, history.json
    return history.json["items"][::-1]  # oldest first


def signed_in_again(sys, tokens) -> dict:
    """After the clock moved past the access token's life."""
    response = login(sys, phone=tokens["user"]["phone"])
    assert response.status_code == 200, response.json
    return response.json


def keys_stored(sys, key: str) -> int:
    engine = create_engine(sys.config["READINGS_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM idempotency_keys WHERE key = :k"),
                                     {"k": key})
    finally:
        engine.dispose()


def test_the_same_reading_twice_with_one_key_is_stored_once(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    key = str(uuid.uuid4())
    first = submit(sys, tokens, account_id, [3007], key)
    assert first.status_code == 201, first.json
    assert REPLAYED not in first.headers
    again = submit(sys, tokens, account_id, [3007], key)
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json == first.json
    assert [r["id"] for r in readings_of(sys, tokens, account_id)] == [first.json["id"]]

    other = submit(sys, tokens, account_id, [3010], key)
    assert other.status_code == 422
    assert set(error(other)["fields"]) == {"Idempotency-Key"}
    assert len(readings_of(sys, tokens, account_id)) == 1


def test_two_requests_at_once_with_one_key_store_one_reading(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    key = str(uuid.uuid4())
    app = sys.client.application
    answers: list = []

    def post() -> None:
        answers.append(submit(sys, tokens, account_id, [3007], key, client=app.test_client()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    firsts = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
    assert len(firsts) == 1, [(a.status_code, a.json) for a in answers]
    other = next(a for a in answers if a is not firsts[0])
    if other.status_code == 201:
        assert other.headers[REPLAYED] == "true" and other.json == firsts[0].json
    else:
        assert other.status_code == 409 and set(error(other)["fields"]) == {"Idempotency-Key"}
        assert other.headers["Retry-After"] == "1"
    assert [r["id"] for r in readings_of(sys, tokens, account_id)] == [firsts[0].json["id"]]


def test_another_user_with_the_same_key_is_independent(sys, in_window):
    key = str(uuid.uuid4())
    one, one_account, _ = customer_with_meter(sys)
    two, two_account, _ = customer_with_meter(sys)
    first = submit(sys, one, one_account, [3007], key)
    second = submit(sys, two, two_account, [3007], key)
    assert first.status_code == second.status_code == 201
    assert REPLAYED not in second.headers and second.json["id"] != first.json["id"]
    assert len(readings_of(sys, two, two_account)) == 1


def test_a_refused_request_is_retried_with_the_same_key(sys):
    move_to(sys, month_day(sys, 0, 5))  # the window is closed
    tokens, account_id, _ = customer_with_meter(sys)
    key = str(uuid.uuid4())
    closed = submit(sys, tokens, account_id, [3007], key)
    assert closed.status_code == 422 and "period" in error(closed)["fields"]
    move_to(sys, month_day(sys, 0, 20))
    tokens = signed_in_again(sys, tokens)
    retried = submit(sys, tokens, account_id, [3007], key)
    assert retried.status_code == 201 and REPLAYED not in retried.headers, retried.json


@pytest.mark.parametrize("key", ["", "x" * 256, "два слова", "a b"])
def test_a_bad_key_is_refused_naming_the_header(sys, key):
    response = sys.client.post(f"{API}/readings/quick", json={},
                               headers={"Idempotency-Key": key.encode().decode("latin-1")})
    assert response.status_code == 400
    body = error(response)
    assert set(body["fields"]) == {"Idempotency-Key"} and "Idempotency-Key" in body["message"]


def test_anonymous_quick_submission_replays_only_the_same_request(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    body = {"number": number, "branch": "mostovskoy", "proof": "2333", "meter_serial": SERIAL,
            "values": [3100]}
    key = {"Idempotency-Key": "quick-" + uuid.uuid4().hex}
    first = sys.client.post(f"{API}/readings/quick", json={**body, **sys.captcha()}, headers=key)
    assert first.status_code == 201, first.json
    # The form after a lost answer shows a new captcha: the same request all the same.
    again = sys.client.post(f"{API}/readings/quick", json={**body, **sys.captcha()}, headers=key)
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json == first.json
    # Another reading under the same key is another caller's request: never their answer.
    other = sys.client.post(f"{API}/readings/quick", json={**body, "values": [3200],
                                                          **sys.captcha()}, headers=key)
    assert other.status_code == 201 and REPLAYED not in other.headers
    assert [r["values"] for r in readings_of(sys, tokens, account_id)] == [[3100], [3200]]


def test_registration_replays_its_tokens(sys):
    phone = new_phone()
    started = sys.client.post(f"{API}/auth/register/phone", json={"phone": phone,
                                                                  **sys.captcha()})
    e164 = "+7" + "".join(ch for ch in phone if ch.isdigit())[-10:]
    verified = sys.client.post(f"{API}/auth/register/phone/verify", json={
        "verification_id": started.json["verification_id"], "code": sys.sms_code(e164)})
    body = {"registration_token": verified.json["registration_token"], "password": PASSWORD,
            "password_confirmation": PASSWORD, "consent_version": CONSENT}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    done = sys.client.post(f"{API}/auth/register/phone/complete", json=body, headers=key)
    assert done.status_code == 201, done.json
    again = sys.client.post(f"{API}/auth/register/phone/complete", json=body, headers=key)
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json == done.json
    # Without the key the used registration token is refused, as before.
    assert sys.client.post(f"{API}/auth/register/phone/complete", json=body).status_code >= 400
    me = sys.client.get(f"{API}/auth/me", headers=bearer(again.json))
    assert me.status_code == 200 and me.json["phone"] == e164


def test_a_key_expires_and_is_purged(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    key = str(uuid.uuid4())
    assert submit(sys, tokens, account_id, [3007], key).status_code == 201
    assert keys_stored(sys, key) == 1
    sys.clock.advance(seconds=(sys.config["IDEMPOTENCY_KEY_HOURS"] + 1) * 3600)
    tokens = signed_in_again(sys, tokens)
    # Another key's answer makes the service purge what expired.
    assert submit(sys, tokens, account_id, [3008], str(uuid.uuid4())).status_code == 201
    assert keys_stored(sys, key) == 0
    again = submit(sys, tokens, account_id, [3009], key)
    assert again.status_code == 201 and REPLAYED not in again.headers

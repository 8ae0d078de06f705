"""ПЕРЕДАЧА ПОКАЗАНИЙ and the Показания tab, through the gateway, with billing on the bus."""
from __future__ import annotations

import time
from datetime import date, datetime, timezone

import jsonschema
from eventlet import tpool
import pytest

from shared.contracts.__main__ import all_schemas
from tests.integration.helpers import (all_items, assert_paged, bearer, error, login,
                                       new_phone, register_by_phone)
from tests.integration.test_accounts import _numbers, link, post_account


API = "/api/v1"


def move_to(sys, day: date) -> None:
    target = datetime(day.year, day.month, day.day, 12, 0, tzinfo=timezone.utc)
    sys.clock.advance(seconds=(target - sys.clock.now()).total_seconds())


def month_day(sys, months_back: int, day: int) -> date:
    today = sys.clock.now().date()
    month = today.month - months_back
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, day)


def history_of(sys, tokens, account_id: int) -> list[dict]:
    """The Показания tab's readings, oldest first (the API gives them newest first)."""
    return all_items(sys, f"{API}/accounts/{account_id}/readings", bearer(tokens))[::-1]


def customer_with_meter(sys, serial="1000911502333", zones=1, digits=5):
    """A customer (tokens issued at the clock's time) with a linked account and its meter."""
    tokens = register_by_phone(sys, new_phone())
    number = post_account(sys, serial="")
    sys.billing("meter_installed", {"number": number, "branch": "mostovskoy", "serial": serial,
                                    "zones": zones, "digits": digits,
                                    "installed_on": "2015-03-01",
                                    "verification_due": "2031-03-01"})
    account_id = link(sys, tokens, number, proof=serial[-4:]).json["id"]
    deadline = time.monotonic() + 10
    while not sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(tokens)).json:
        assert time.monotonic() < deadline, "readings never learnt the meter"
        time.sleep(0.05)
    return tokens, account_id, number


def next_month(sys, tokens) -> dict:
    """A month later (day 20, in the window); the customer signs in again."""
    move_to(sys, month_day(sys, -1, 20))
    response = login(sys, phone=tokens["user"]["phone"])
    assert response.status_code == 200, response.json
    return response.json


def submit(sys, tokens, account_id, values, serial="1000911502333", **extra):
    return sys.client.post(f"{API}/accounts/{account_id}/readings", headers=bearer(tokens),
                           json={"meter_serial": serial, "values": values, **extra})


def decide(sys, reading_id, accepted=True, reason=None):
    if accepted:
        sys.billing_to("readings", "reading_accepted", {"reading_id": reading_id})
    else:
        sys.billing_to("readings", "reading_rejected", {"reading_id": reading_id, "reason": reason})


@pytest.fixture
def in_window(sys):
    move_to(sys, month_day(sys, 0, 20))


def test_submit_a_reading_billing_hears_and_decides(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    meters = sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(tokens)).json
    assert meters[0]["verification_due"] == "2031-03-01" and meters[0]["zones"] == 1
    tap = sys.tap("readings")
    response = submit(sys, tokens, account_id, [3007])
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending" and response.json["source"] == "manual"
    event = tap.wait_for("reading_submitted", lambda p: p["reading_id"] == response.json["id"])
    schema = next(s for s in all_schemas() if s["title"] == "readings.reading_submitted v1")
    jsonschema.validate(event, schema, format_checker=jsonschema.FormatChecker())
    assert event["payload"]["number"] == number and event["payload"]["values"] == [3007]
    tap.close()
    decide(sys, response.json["id"])
    history = history_of(sys, tokens, account_id)
    assert history[0]["status"] == "accepted"


@pytest.mark.parametrize("values,field,reason", [
    ([1, 2], "values", "a list of 1 number(s)"),
    ([-5], "values[0]", "negative"),
    (["12.5"], "values[0]", "a whole number"),
    ([100000], "values[0]", "more than 5 digits"),
])
def test_values_are_checked(sys, in_window, values, field, reason):
    tokens, account_id, _ = customer_with_meter(sys)
    response = submit(sys, tokens, account_id, values)
    assert response.status_code == 422 and error(response)["field_codes"] == {field: reason}


def test_outside_the_window_says_when_the_next_one_opens(sys):
    move_to(sys, month_day(sys, 0, 26))
    tokens, account_id, _ = customer_with_meter(sys)
    response = submit(sys, tokens, account_id, [3007])
    assert response.status_code == 422
    nxt = month_day(sys, -1, 15)
    assert f"{nxt:%d.%m.%Y}" in error(response)["message"]
    assert "window closed" in error(response)["field_codes"]["period"]


def test_less_than_previous_and_a_rollover(sys):
    move_to(sys, month_day(sys, 1, 20))
    tokens, account_id, _ = customer_with_meter(sys)
    first = submit(sys, tokens, account_id, [99990])
    decide(sys, first.json["id"])
    tokens = next_month(sys, tokens)
    less = submit(sys, tokens, account_id, [50000])
    assert less.status_code == 422 and error(less)["field_codes"] == {"values[0]": "less than previous"}
    rolled = submit(sys, tokens, account_id, [15])
    assert rolled.status_code == 201 and rolled.json["rolled_over"] is True
    assert rolled.json["consumption"] == [25]


def test_a_second_submission_replaces_the_first_and_both_stay_in_history(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    assert submit(sys, tokens, account_id, [3007]).status_code == 201
    assert submit(sys, tokens, account_id, [3070]).status_code == 201
    history = history_of(sys, tokens, account_id)
    assert [(r["values"], r["status"]) for r in history] == [
        ([3007], "replaced"), ([3070], "pending")]


def test_unusually_high_consumption_needs_confirmation(sys):
    move_to(sys, month_day(sys, 4, 20))
    tokens, account_id, _ = customer_with_meter(sys)
    value = 1000
    for month in range(4):  # four accepted months, 200 kWh each after the first
        if month:
            tokens = next_month(sys, tokens)
        response = submit(sys, tokens, account_id, [value])
        assert response.status_code == 201, response.json
        decide(sys, response.json["id"])
        value += 200
    tokens = next_month(sys, tokens)
    preview = sys.client.post(f"{API}/accounts/{account_id}/readings/preview",
                              headers=bearer(tokens),
                              json={"meter_serial": "1000911502333", "values": [value + 5000]})
    assert preview.status_code == 200, preview.json
    assert preview.json["consumption"] == [5200] and preview.json["usual"] == 200
    assert preview.json["needs_confirm"] is True and "5200" in preview.json["warning"]
    history = assert_paged(sys, f"{API}/accounts/{account_id}/readings", bearer(tokens), 4)
    assert len(history) == 4  # the preview stored nothing; pages of it reach each reading
    assert [r["consumption"] for r in history] == [[200], [200], [200], None]  # across pages
    high = submit(sys, tokens, account_id, [value + 5000])
    assert high.status_code == 422 and error(high)["field_codes"] == {"confirm": "implausibly high: confirm"}
    confirmed = submit(sys, tokens, account_id, [value + 5000], confirm=True)
    assert confirmed.status_code == 201 and confirmed.json["consumption"] == [5200]


def test_billing_rejects_with_a_reason_the_customer_sees(sys, in_window):
    tokens, account_id, _ = customer_with_meter(sys)
    reading = submit(sys, tokens, account_id, [3007]).json
    decide(sys, reading["id"], accepted=False, reason="implausibly_high")
    row = history_of(sys, tokens, account_id)[0]
    assert row["status"] == "rejected" and row["reason"] == "implausibly_high"


def test_only_those_with_full_access_submit(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    stranger = register_by_phone(sys, new_phone())
    assert submit(sys, stranger, account_id, [3007]).status_code == 404
    assert sys.client.get(f"{API}/accounts/{account_id}/readings",
                          headers=bearer(stranger)).status_code == 404
    helper = register_by_phone(sys, new_phone())
    sys.wait_contact(helper["user"]["id"])
    sys.client.post(f"{API}/accounts/{account_id}/trusted", headers=bearer(tokens),
                    json={"phone": helper["user"]["phone"], "access": "read"})
    assert submit(sys, helper, account_id, [3007]).status_code == 403
    assert sys.client.get(f"{API}/accounts/{account_id}/readings",
                          headers=bearer(helper)).status_code == 200


def test_a_removed_meter_takes_no_readings(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    sys.billing("meter_removed", {"number": number, "branch": "mostovskoy",
                                  "serial": "1000911502333", "removed_on": "2026-01-01"})
    deadline = time.monotonic() + 10
    while sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(tokens)).json:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    response = submit(sys, tokens, account_id, [3007])
    assert response.status_code == 410 and error(response)["field_codes"] == {
        "meter_serial": "meter decommissioned"}


def test_quick_submission_without_signing_in(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    body = {"number": number, "branch": "mostovskoy", "proof": "2333",
            "meter_serial": "1000911502333", "values": [3100]}
    quick = sys.client.post(f"{API}/readings/quick", json={**body, **sys.captcha()})
    assert quick.status_code == 201, quick.json
    history = history_of(sys, tokens, account_id)
    assert history[-1]["values"] == [3100]

    no_captcha = sys.client.post(f"{API}/readings/quick", json={
        **body, "captcha_id": "x", "captcha_answer": "y"})
    assert no_captcha.status_code == 422 and "captcha_id" in error(no_captcha)["fields"]
    wrong_proof = sys.client.post(f"{API}/readings/quick",
                                  json={**body, "proof": "0000", **sys.captcha()})
    assert wrong_proof.status_code == 422 and error(wrong_proof)["field_codes"] == {
        "proof": "does not match"}
    for _ in range(sys.config["LINK_ATTEMPTS_HOURLY"]):
        sys.client.post(f"{API}/readings/quick", json={**body, "proof": "0000", **sys.captcha()})
    limited = sys.client.post(f"{API}/readings/quick", json={**body, **sys.captcha()})
    assert limited.status_code == 429


def test_quick_submission_with_a_photo_id_is_refused_not_a_500(sys, in_window):
    """Fuzzing found a 500: the route documents photo_id (inherited from the signed-in form)
    but the service's quick_submit did not take it."""
    _, _, number = customer_with_meter(sys)
    body = {"number": number, "branch": "mostovskoy", "proof": "2333",
            "meter_serial": "1000911502333", "values": [3100]}
    for photo_id in ("00000000-0000-0000-0000-000000000000", "x"):
        response = sys.client.post(f"{API}/readings/quick",
                                   json={**body, "photo_id": photo_id, **sys.captcha()})
        assert response.status_code == 404, response.json
        assert error(response)["message"] == "Фото не найдено, прикрепите его снова"
        assert error(response)["field_codes"] == {"photo_id": "unknown"}


@pytest.fixture(scope="module")
def ocr_worker(system, tmp_path_factory):
    """One OCR worker process with the real model, as `make run` starts it."""
    from tests.integration.ocr_workers import OcrWorkers

    workers = OcrWorkers(system.config, tmp_path_factory.mktemp("ocr"), fake=False)
    workers.start()
    yield workers
    workers.stop()


def poll_job(sys, tokens, url, timeout=180):
    """GET the job until it ends; the model may still be loading in a fresh worker."""
    deadline = time.monotonic() + timeout
    while True:
        job = sys.client.get(url, headers=bearer(tokens))
        assert job.status_code == 200, job.json
        if job.json["status"] in ("done", "failed"):
            return job.json
        assert time.monotonic() < deadline, f"the photo job never ended: {job.json}"
        time.sleep(0.2)


def test_readings_from_a_photo_fill_the_form(sys, in_window, ocr_worker):
    """The real model end to end: upload (202 at once), an OCR worker reads it, poll."""
    import base64
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "bills"
    expected = next(e for e in json.loads((folder / "expected.json").read_text())
                    if e["file"] == "printed_clean-900.jpg")
    tokens, account_id, _ = customer_with_meter(sys)
    photo = base64.b64encode((folder / expected["file"]).read_bytes()).decode()
    response = sys.client.post(f"{API}/accounts/{account_id}/readings/photo",
                               headers=bearer(tokens), json={"image_base64": photo})
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued"
    assert response.headers["Location"] == response.json["poll_url"]
    job = poll_job(sys, tokens, response.json["poll_url"])
    assert job["status"] == "done", job
    found = job["result"]
    assert found["account_number"]["value"] == expected["account_number"]
    # Another account's bill: the number is not this account's, so nothing read is "sure".
    assert found["matches_account"] is False
    (meter,) = found["meters"]
    assert meter["serial"]["value"] == expected["meter_serial"]
    assert meter["serial"]["state"] != "sure"  # not the serial of this account's meter
    assert [v["value"] for v in meter["values"]] == [str(v) for v in expected["final"]]
    assert all(0 <= v["confidence"] <= 1 and v["state"] in ("sure", "check", "not_found")
               for v in meter["values"])
    history = history_of(sys, tokens, account_id)
    assert history == []  # nothing submitted until the customer confirms

    # The customer corrects the values for their own meter and sends them with the photo.
    tap = sys.tap("readings")
    sent = submit(sys, tokens, account_id, [3200], photo_id=job["photo_id"])
    assert sent.status_code == 201 and sent.json["source"] == "photo"
    tap.wait_for("reading_submitted", lambda p: p["reading_id"] == sent.json["id"]
                 and p["source"] == "photo")
    tap.close()
    again = submit(sys, tokens, account_id, [3201], photo_id=job["photo_id"])
    assert again.status_code == 410 and error(again)["field_codes"] == {"photo_id": "already used"}

    text = base64.b64encode(b"%PDF-1.4 not a photo").decode()
    rejected = sys.client.post(f"{API}/accounts/{account_id}/readings/photo",
                               headers=bearer(tokens), json={"image_base64": text})
    assert rejected.status_code == 422 and "image_base64" in error(rejected)["fields"]


def test_an_account_loaded_from_the_registry_csv_takes_readings(sys, in_window):
    """The CSV first load publishes no meter events: readings asks accounts for the meters."""
    from pathlib import Path

    from services.accounts.registry_import import import_registry

    demo = Path(__file__).resolve().parents[2] / "services" / "accounts" / "demo_registry.csv"
    # In a real thread, as the CLI is another process: the services' green threads wait on
    # SQLite's lock meanwhile, and the import must go on while they do.
    result = tpool.execute(import_registry, demo, sys.config["ACCOUNTS_DATABASE_URL"],
                           progress=False)
    assert not result.errors
    tokens = register_by_phone(sys, new_phone())
    account_id = link(sys, tokens, "123456789").json["id"]
    meters = sys.client.get(f"{API}/accounts/{account_id}/meters", headers=bearer(tokens)).json
    assert [m["serial"] for m in meters] == ["1000911502333"]
    assert submit(sys, tokens, account_id, [3200]).status_code == 201
    # A submission with no meters asked before: readings asks accounts then.
    other = link(sys, tokens, "230100245871", proof="2155", branch="krasnodar").json["id"]
    assert submit(sys, tokens, other, [1200, 800], serial="011354098002155").status_code == 201


def registry_from_csv(sys, tmp_path, serial: str) -> str:
    """A one-account registry loaded by the CSV import (no events reach readings); its number."""
    from services.accounts.registry_import import COLUMNS, import_registry

    number = str(next(_numbers))
    path = tmp_path / "registry.csv"
    path.write_text(";".join(COLUMNS) + "\n" + ";".join([
        number, "mostovskoy", "Петров Иван Сергеевич", "х. Садовый, ул. Ореховая д.5", "", "",
        "", "urban", serial, "1", "5", "2015-03-01", "2031-03-01"]) + "\n", encoding="utf-8")
    result = tpool.execute(import_registry, path, sys.config["ACCOUNTS_DATABASE_URL"],
                           progress=False)
    assert not result.errors and result.accounts == 1
    return number


def test_an_inspector_reading_for_a_csv_loaded_account_nobody_opened(sys, in_window, tmp_path):
    """Billing's inspector reading for an account readings has no copy of (a CSV-loaded
    registry sends no events): readings asks accounts for the meter and keeps the reading, and
    the customer's later reading is checked against it."""
    serial = "1000911507777"
    number = registry_from_csv(sys, tmp_path, serial)
    taken_on = month_day(sys, 1, 10)
    sys.billing_to("readings", "inspector_reading_taken", {
        "number": number, "branch": "mostovskoy", "serial": serial, "values": [5000],
        "taken_on": taken_on.isoformat(), "inspector": "Иванов И. И."})

    tokens = register_by_phone(sys, new_phone())
    account_id = link(sys, tokens, number, proof="7777").json["id"]
    history = history_of(sys, tokens, account_id)
    assert [(r["meter_serial"], r["values"], r["source"], r["status"]) for r in history] == [
        (serial, [5000], "inspector", "accepted")]
    less = submit(sys, tokens, account_id, [4000], serial=serial)
    assert less.status_code == 422 and error(less)["field_codes"] == {"values[0]": "less than previous"}
    more = submit(sys, tokens, account_id, [5100], serial=serial)
    assert more.status_code == 201 and more.json["consumption"] == [100]


def test_an_inspector_reading_for_an_account_the_registry_lacks_is_dead_lettered(sys):
    """Accounts does not know the account either: refused at once (not retried), with the
    reason in the dead-letter queue's headers."""
    import json

    import pika

    from tests.integration.bus import publish

    envelope = publish(sys.amqp_uri, "billing", "inspector_reading_taken", {
        "number": "99999999999", "branch": "mostovskoy", "serial": "1000911502333",
        "values": [10], "taken_on": sys.clock.now().date().isoformat(), "inspector": None})
    connection = pika.BlockingConnection(pika.URLParameters(sys.amqp_uri))
    channel = connection.channel()
    queue = "evt-billing-inspector_reading_taken--readings.on_inspector_reading.dead"
    deadline = time.monotonic() + 10
    try:
        while True:
            assert time.monotonic() < deadline, "the event was never dead-lettered"
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.05)
            elif json.loads(body)["id"] == envelope["id"]:
                break
    finally:
        connection.close()
    assert "Unknown account 99999999999 (mostovskoy): not in the registry" in \
        properties.headers["x-error"]
    assert "x-retry-count" not in properties.headers


def test_quick_submission_for_a_csv_loaded_account_nobody_opened(sys, in_window, tmp_path):
    """Quick submission learns the meters from accounts' answer to the proof."""
    serial = "1000911508888"
    number = registry_from_csv(sys, tmp_path, serial)
    quick = sys.client.post(f"{API}/readings/quick", json={
        "number": number, "branch": "mostovskoy", "proof": "8888", "meter_serial": serial,
        "values": [3100], **sys.captcha()})
    assert quick.status_code == 201, quick.json
    tokens = register_by_phone(sys, new_phone())
    account_id = link(sys, tokens, number, proof="8888").json["id"]
    history = history_of(sys, tokens, account_id)
    assert [r["values"] for r in history] == [[3100]]


def test_an_inspector_reading_from_billing_replaces_the_pending_one_in_history(sys, in_window):
    tokens, account_id, number = customer_with_meter(sys)
    assert submit(sys, tokens, account_id, [3007]).status_code == 201
    taken_on = sys.clock.now().date()
    sys.billing_to("readings", "inspector_reading_taken", {
        "number": number, "branch": "mostovskoy", "serial": "1000911502333", "values": [3010],
        "taken_on": taken_on.isoformat(), "inspector": "Иванов И. И."})
    rows = history_of(sys, tokens, account_id)
    assert [(r["values"], r["source"], r["status"]) for r in rows] == [
        ([3007], "manual", "replaced"), ([3010], "inspector", "accepted")]
    assert rows[1]["submitted_at"].startswith(taken_on.isoformat())


def test_the_window_dates_for_the_home_page(sys):
    """GET /readings/window: in the window, this month's dates; after it, the next month's."""
    move_to(sys, month_day(sys, 0, 20))
    window = sys.client.get(f"{API}/readings/window").json
    assert window == {"open": True, "period": f"{month_day(sys, 0, 1):%Y-%m}",
                      "start": month_day(sys, 0, 15).isoformat(),
                      "end": month_day(sys, 0, 25).isoformat()}
    move_to(sys, month_day(sys, 0, 26))
    window = sys.client.get(f"{API}/readings/window").json
    assert window["open"] is False and window["start"] == month_day(sys, -1, 15).isoformat()
    assert window["end"] == month_day(sys, -1, 25).isoformat()


def test_the_window_opens_at_midnight_moscow_time_not_utc(sys):
    """00:30 in Moscow on the 15th is 21:30 UTC on the 14th: the window is open (issue 16)."""
    fifteenth = month_day(sys, -1, 15)
    eve = datetime(fifteenth.year, fifteenth.month, fifteenth.day, tzinfo=timezone.utc)
    sys.clock.advance(seconds=(eve.replace(hour=0) - sys.clock.now()).total_seconds() - 2.5 * 3600)
    tokens, account_id, _ = customer_with_meter(sys)
    assert sys.client.get(f"{API}/readings/window").json["open"] is True
    response = submit(sys, tokens, account_id, [3007])
    assert response.status_code == 201, response.json
    assert response.json["period"] == f"{fifteenth:%Y-%m}"

"""Readings from a photo off the request path: the upload is a job on the OCR work queue,
read by OCR worker processes (here with the fake engine: the plumbing, not the recognition,
which test_readings.py runs end to end with the real model)."""
from __future__ import annotations

import base64
import time

import pytest

from tests.integration.helpers import bearer, error, eventually, new_phone, register_by_phone
from tests.integration.ocr_workers import OcrWorkers
from tests.integration.test_identity_data import blank_photo
from tests.integration.test_readings import (customer_with_meter, in_window,  # noqa: F401
                                             poll_job, submit)

API = "/api/v1"
SERIAL = "1000911502333"
BURST = 8


@pytest.fixture(scope="module")
def workers(system, tmp_path_factory):
    running = OcrWorkers(system.config, tmp_path_factory.mktemp("ocr"), fake=True)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def worker(workers):
    """One worker for the module (a test may kill it; then it starts another)."""
    workers.start()
    return workers


def upload(sys, tokens, account_id, **headers):
    return sys.client.post(f"{API}/accounts/{account_id}/readings/photo",
                           headers={**bearer(tokens), **headers},
                           json={"image_base64": blank_photo()})


def job_status(sys, tokens, url):
    response = sys.client.get(url, headers=bearer(tokens))
    assert response.status_code == 200, response.json
    return response.json["status"]


def wait_status(sys, tokens, url, status, timeout=60):
    deadline = time.monotonic() + timeout
    while job_status(sys, tokens, url) != status:
        assert time.monotonic() < deadline, f"the job never became {status}"
        time.sleep(0.1)


def test_upload_is_accepted_at_once_and_polled_to_the_values(sys, in_window, worker):  # noqa: F811
    tokens, account_id, number = customer_with_meter(sys)
    worker.script(number=number, meters=[{"serial": SERIAL, "initial": [3000],
                                          "final": [3200]}])
    accepted = upload(sys, tokens, account_id, **{"Idempotency-Key": "photo-1"})
    assert accepted.status_code == 202, accepted.json
    body = accepted.json
    assert body["status"] == "queued" and body["result"] is None
    assert body["poll_url"] == f"{API}/accounts/{account_id}/readings/photo/{body['job_id']}"
    assert accepted.headers["Location"] == body["poll_url"]
    # A retry with the same key is the same job, not a second one.
    again = upload(sys, tokens, account_id, **{"Idempotency-Key": "photo-1"})
    assert again.status_code == 202 and again.json["job_id"] == body["job_id"]
    assert again.headers["Location"] == body["poll_url"]

    job = poll_job(sys, tokens, body["poll_url"], timeout=60)
    assert job["status"] == "done", job
    result = job["result"]
    assert result["account_number"] == {"value": number, "confidence": 0.99, "state": "sure"}
    assert result["matches_account"] is True
    (meter,) = result["meters"]
    assert meter["known"] is True and meter["meter_serial"] == meter["serial"]["value"] == SERIAL
    # (whether it is "sure" is the recognition's business: tests/unit/test_ocr_rules.py)
    assert [v["value"] for v in meter["values"]] == ["3200"]
    assert meter["values"][0]["state"] in ("sure", "check")
    sent = submit(sys, tokens, account_id, [3200], photo_id=job["photo_id"])
    assert sent.status_code == 201 and sent.json["source"] == "photo"

    # Someone else, even with the job's address, learns nothing (404, as for no such job).
    stranger = register_by_phone(sys, new_phone())
    other = sys.client.get(body["poll_url"], headers=bearer(stranger))
    assert other.status_code in (403, 404), other.json
    unknown = sys.client.get(f"{API}/accounts/{account_id}/readings/photo/nope",
                             headers=bearer(tokens))
    assert unknown.status_code == 404 and set(error(unknown)["fields"]) == {"job_id"}
    # Not an image: refused at once, by the field, with no job made.
    text = base64.b64encode(b"%PDF-1.4 not a photo").decode()
    refused = sys.client.post(f"{API}/accounts/{account_id}/readings/photo",
                              headers=bearer(tokens), json={"image_base64": text})
    assert refused.status_code == 422
    assert set(error(refused)["fields"]) == {"image_base64"}


def test_a_burst_of_photos_queues_and_one_worker_reads_them_all(sys, in_window, worker):  # noqa: F811
    tokens, account_id, number = customer_with_meter(sys)
    worker.script(number=number, meters=[{"serial": SERIAL, "initial": [3000],
                                          "final": [3100]}])
    started = time.monotonic()
    urls = []
    for _ in range(BURST):
        response = upload(sys, tokens, account_id)
        assert response.status_code == 202, response.json
        urls.append(response.json["poll_url"])
    accepted_in = time.monotonic() - started
    jobs = [poll_job(sys, tokens, url, timeout=120) for url in urls]
    assert [j["status"] for j in jobs] == ["done"] * BURST
    assert {j["result"]["meters"][0]["values"][0]["value"] for j in jobs} == {"3100"}
    print(f"{BURST} uploads accepted in {accepted_in:.2f} s")


def test_a_worker_killed_mid_job_leaves_it_to_the_next_one(sys, in_window, worker):  # noqa: F811
    tokens, account_id, number = customer_with_meter(sys)
    worker.script(number=number, meters=[{"serial": SERIAL, "initial": [3000],
                                          "final": [3300]}], delay=600)
    url = upload(sys, tokens, account_id).json["poll_url"]
    wait_status(sys, tokens, url, "running")
    for process in worker.processes:
        if process.poll() is None:
            worker.kill(process)  # mid-job: nothing acked, nothing stored
    assert job_status(sys, tokens, url) == "running"
    worker.script(number=number, meters=[{"serial": SERIAL, "initial": [3000],
                                          "final": [3300]}])
    worker.start()  # as the supervisor (or Kubernetes) restarts it
    job = poll_job(sys, tokens, url, timeout=60)
    assert job["status"] == "done" and job["result"]["meters"][0]["values"][0]["value"] == "3300"


def test_a_photo_the_engine_fails_on_twice_ends_failed_with_a_reason(sys, in_window, worker):  # noqa: F811
    tokens, account_id, number = customer_with_meter(sys)
    worker.script(number=number, meters=[], fail=True)
    url = upload(sys, tokens, account_id).json["poll_url"]
    job = poll_job(sys, tokens, url, timeout=60)
    assert job["status"] == "failed" and job["result"] is None
    assert "введите показания сами" in job["reason"]


def test_a_photo_of_two_meters_gives_both_and_backs_a_reading_of_each(sys, in_window,  # noqa: F811
                                                                       worker):
    tokens, account_id, number = customer_with_meter(sys)
    second = "2000922603444"
    sys.billing("meter_installed", {"number": number, "branch": "mostovskoy", "serial": second,
                                    "zones": 2, "digits": 6, "installed_on": "2015-03-01",
                                    "verification_due": "2031-03-01"})
    eventually(lambda: len(sys.client.get(f"{API}/accounts/{account_id}/meters",
                                          headers=bearer(tokens)).json) == 2,
               what="readings learning the second meter")
    worker.script(number=number, meters=[
        {"serial": SERIAL, "initial": [3000], "final": [3200]},
        {"serial": second, "initial": [100, 50], "final": [180, 90]}])
    job = poll_job(sys, tokens, upload(sys, tokens, account_id).json["poll_url"], timeout=60)
    assert job["status"] == "done", job
    read = {m["meter_serial"]: [v["value"] for v in m["values"]]
            for m in job["result"]["meters"] if m["known"]}
    assert read == {SERIAL: ["3200"], second: ["180", "90"]}
    first = submit(sys, tokens, account_id, [3200], photo_id=job["photo_id"])
    other = submit(sys, tokens, account_id, [180, 90], serial=second, photo_id=job["photo_id"])
    assert (first.status_code, other.status_code) == (201, 201), (first.json, other.json)
    assert other.json["source"] == "photo"
    again = submit(sys, tokens, account_id, [3201], photo_id=job["photo_id"])
    assert again.status_code == 410 and set(error(again)["fields"]) == {"photo_id"}

"""РАЗДЕЛ «УСЛУГИ» through the gateway, on the real broker: a customer orders a work with
files, operators take it through its life, the customer hears of each step (notices, SMS),
billing/CRM systems get the events; every illegal step and bad file is refused clearly, and
nobody reaches another's requests or the operators' side."""
from __future__ import annotations

import subprocess
import sys as python
import time
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from shared import paging
from shared.contracts.__main__ import all_schemas
from tests.integration.helpers import (PASSWORD, assert_paged, bearer, error, login, new_phone,
                                       register_by_phone)
from tests.integration.test_accounts import link, post_account
from tests.integration.test_api_contract import Contract
from tests.unit.test_requests_attachments import sample_image, sample_pdf, upload

API = "/api/v1"
MSK = ZoneInfo("Europe/Moscow")
STAFF_PASSWORD = "Operator-Parol-42"


def until(check: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    """Poll until ``check`` gives something truthy (an event on its way through the bus)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


@pytest.fixture(scope="module")
def staff(system) -> dict[str, str]:
    """An admin made by the command line, and two operators the admin made through the API."""
    env = {"NESK_ENV": "test", "VAR_DIR": system.config["VAR_DIR"],
           "AUTH_DATABASE_URL": system.config["AUTH_DATABASE_URL"], "PATH": "/usr/bin:/bin"}
    made = subprocess.run([python.executable, "-m", "services.auth.cli", "create-user",
                           "--role", "admin", "--email", "admin@requests.nesk.ru"],
                          input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n", capture_output=True,
                          text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    admin = login(system, email="admin@requests.nesk.ru", password=STAFF_PASSWORD).json
    for email in ("operator1@requests.nesk.ru", "operator2@requests.nesk.ru"):
        created = system.client.post(f"{API}/admin/users", headers=bearer(admin), json={
            "role": "operator", "email": email, "password": STAFF_PASSWORD})
        assert created.status_code == 201, created.json
    return {"admin": "admin@requests.nesk.ru", "operator": "operator1@requests.nesk.ru",
            "operator2": "operator2@requests.nesk.ru"}


def staff_login(sys, staff, who: str) -> dict[str, Any]:
    response = login(sys, email=staff[who], password=STAFF_PASSWORD)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def operator(sys, staff) -> dict[str, Any]:
    return staff_login(sys, staff, "operator")


def customer_with_account(sys, contact: bool = False) -> tuple[dict[str, Any], int]:
    tokens = register_by_phone(sys, new_phone())
    if contact:  # SMS notices need the confirmed phone, which accounts learns by event
        sys.wait_contact(tokens["user"]["id"])
    account_id = link(sys, tokens, post_account(sys)).json["id"]
    return tokens, account_id


def order(sys, tokens, **fields):
    body = {"work": "meter_replacement", "message": "Счётчик не работает, прошу заменить",
            "contact_phone": "+7 918 555-12-34", **fields}
    return sys.client.post(f"{API}/requests", headers=bearer(tokens), json=body)


def act(sys, tokens, request_id: int, step: str, **body):
    return sys.client.post(f"{API}/operator/requests/{request_id}/{step}", headers=bearer(tokens),
                           json=body)


def notices(sys, tokens, kind: str) -> list[dict[str, Any]]:
    feed = sys.client.get(f"{API}/notices", headers=bearer(tokens)).json["items"]
    return [n for n in feed if n["kind"] == kind]


def download(sys, tokens, request_id: int, attachment_id: str):
    return sys.client.get(f"{API}/requests/{request_id}/attachments/{attachment_id}",
                          headers=bearer(tokens))


def in_days(sys, days: int, hour: int = 10) -> datetime:
    """``days`` ahead at ``hour``:00 Moscow time."""
    local = sys.clock.now().astimezone(MSK) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def test_the_catalogue_lists_the_manuals_works(sys):
    response = sys.client.get(f"{API}/requests/catalogue")
    assert response.status_code == 200
    works = {w["title"]: w for w in response.json}
    assert {"Замена электросчетчика", "Замена электросчетчика по срочной процедуре",
            "Проверка схемы подключения электросчетчика с целью опломбировки",
            "Проверка схемы подключения электросчетчика с целью опломбировки без л/с",
            "Программирование многотарифного электросчетчика", "Распломбировка",
            "Распломбировка по срочной процедуре", "Электромонтажные работы",
            "Прочие услуги", "Заключить договор"} <= set(works)
    assert works["Замена электросчетчика"]["needs_account"] is True
    assert works["Заключить договор"]["needs_account"] is False


def test_the_whole_life_of_a_request_from_both_sides(sys, operator):
    customer, account_id = customer_with_account(sys, contact=True)
    tap = sys.tap("requests")
    photo, act_pdf = sample_image("JPEG"), sample_pdf()
    created = order(sys, customer, account_id=account_id, preferred_time="будни после 17:00",
                    attachments=[upload(photo, "счётчик.jpg"), upload(act_pdf, "акт")])
    assert created.status_code == 201, created.json
    request = created.json
    request_id = request["id"]
    assert request["status"] == "new" and request["status_label"] == "Новая"
    assert request["contact_phone"] == "+79185551234" and request["can_cancel"] is True
    files = request["messages"][0]["attachments"]
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("счётчик.jpg", "image/jpeg"), ("акт.pdf", "application/pdf")]

    # The operator finds it in the queue and opens the customer's file.
    queue = sys.client.get(f"{API}/operator/requests", headers=bearer(operator), query_string={
        "status": "new", "work": "meter_replacement", "branch": "mostovskoy"}).json
    queued = next(r for r in queue["items"] if r["id"] == request_id)
    assert queued["unread"] == 1 and queued["user_id"] == customer["user"]["id"]
    viewed = sys.client.get(f"{API}/operator/requests/{request_id}", headers=bearer(operator))
    assert viewed.json["messages"][0]["new"] is True  # now read: the next view says so
    assert viewed.json["preferred_time"] == "будни после 17:00"
    seen = download(sys, operator, request_id, files[1]["id"])
    assert seen.status_code == 200 and seen.mimetype == "application/pdf"
    assert seen.data == act_pdf
    disposition = seen.headers["Content-Disposition"]  # saved under its Cyrillic name
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%D0%B0%D0%BA%D1%82.pdf" in disposition

    accepted = act(sys, operator, request_id, "accept")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    assert accepted.json["assignee_id"] == operator["user"]["id"]
    until(lambda: notices(sys, customer, "request_status"), "the notice of acceptance")

    # A reply with a file: the header counts it until the customer opens the request.
    reply = sys.client.post(f"{API}/operator/requests/{request_id}/messages",
                            headers=bearer(operator), json={
                                "text": "Подготовьте, пожалуйста, паспорт счётчика",
                                "attachments": [upload(sample_pdf(), "памятка.pdf")]})
    assert reply.status_code == 201, reply.json
    counts = sys.client.get(f"{API}/requests/counts", headers=bearer(customer)).json
    assert counts == {"open_requests": 1, "unread_replies": 1}
    listed = sys.client.get(f"{API}/requests", headers=bearer(customer)).json["items"]
    assert [(r["id"], r["status"], r["unread"]) for r in listed] == [(request_id, "accepted", 1)]
    told = until(lambda: notices(sys, customer, "request_reply"), "the notice of the reply")
    assert "паспорт счётчика" in told[0]["body"]
    opened = sys.client.get(f"{API}/requests/{request_id}", headers=bearer(customer)).json
    assert [m["new"] for m in opened["messages"]] == [False, True]
    memo = opened["messages"][1]["attachments"][0]
    saved = download(sys, customer, request_id, memo["id"]).headers["Content-Disposition"]
    assert "filename*=UTF-8''%D0%BF%D0%B0%D0%BC%D1%8F%D1%82%D0%BA%D0%B0.pdf" in saved  # памятка
    assert sys.client.get(f"{API}/requests/counts",
                          headers=bearer(customer)).json["unread_replies"] == 0
    answer = sys.client.post(f"{API}/requests/{request_id}/messages", headers=bearer(customer),
                             json={"text": "Паспорт есть"})
    assert answer.status_code == 201

    # A date: the customer is told by the channels they chose (SMS here).
    when = in_days(sys, 3)
    scheduled = act(sys, operator, request_id, "schedule", scheduled_at=when.isoformat())
    assert scheduled.status_code == 200 and scheduled.json["status"] == "scheduled"
    assert scheduled.json["scheduled_at"] == when.isoformat()
    assert scheduled.json["unread"] == 1  # «Паспорт есть», not yet opened by the operator
    date_notice = until(lambda: [n for n in notices(sys, customer, "request_status")
                                 if n["title"] == "Назначена дата работ"], "the date notice")
    assert f"{when:%d.%m.%Y} в 10:00" in date_notice[0]["body"]
    assert "Назначена дата работ" in sys.last_sms(customer["user"]["phone"])
    too_late = sys.client.post(f"{API}/requests/{request_id}/cancel", headers=bearer(customer),
                               json={})
    assert too_late.status_code == 409 and "напишите оператору" in error(too_late)["message"]

    done = act(sys, operator, request_id, "complete")
    assert done.status_code == 200 and done.json["status"] == "done"
    assert [h["status"] for h in done.json["history"]] == ["new", "accepted", "scheduled", "done"]
    assert sys.client.get(f"{API}/requests/counts", headers=bearer(customer)).json == {
        "open_requests": 0, "unread_replies": 0}

    # What a CRM or billing system receives, checked against the published JSON Schemas.
    tap.wait_for("request_status_changed", lambda p: p["request_id"] == request_id
                 and p["status"] == "done")
    schemas = {s["title"]: s for s in all_schemas()}
    mine = [e for e in tap.received if e["payload"]["request_id"] == request_id]
    for envelope in mine:
        jsonschema.validate(envelope, schemas[f"requests.{envelope['type']} v1"],
                            format_checker=jsonschema.FormatChecker())
    assert [(e["type"], e["payload"].get("status") or e["payload"].get("author_role"))
            for e in mine] == [
        ("request_created", None), ("request_status_changed", "accepted"),
        ("request_message_posted", "operator"), ("request_message_posted", "customer"),
        ("request_status_changed", "scheduled"), ("request_status_changed", "done")]
    created_event = mine[0]["payload"]
    assert created_event["number"] and created_event["branch"] == "mostovskoy"
    assert created_event["preferred_time"] == "будни после 17:00"
    assert len(created_event["attachments"]) == 2
    tap.close()


def test_every_illegal_step_is_refused_with_a_clear_error(sys, operator):
    customer, account_id = customer_with_account(sys)
    request_id = order(sys, customer, account_id=account_id).json["id"]
    for step, body in (("complete", {}), ("schedule", {"scheduled_at": in_days(sys, 1)
                                                                     .isoformat()})):
        refused = act(sys, operator, request_id, step, **body)
        assert refused.status_code == 409
        assert error(refused)["field_codes"] == {"status": f"new: cannot {step}"}
    assert act(sys, operator, request_id, "accept").status_code == 200
    twice = act(sys, operator, request_id, "accept")
    assert twice.status_code == 409 and "«Принята»" in error(twice)["message"]
    past = act(sys, operator, request_id, "schedule",
               scheduled_at=(sys.clock.now() - timedelta(hours=1)).isoformat())
    assert past.status_code == 422 and error(past)["field_codes"] == {"scheduled_at": "in the past"}
    naive = act(sys, operator, request_id, "schedule", scheduled_at="2030-01-15T10:00:00")
    assert naive.status_code == 422 and "time zone" in error(naive)["field_codes"]["scheduled_at"]
    no_reason = act(sys, operator, request_id, "reject")
    assert no_reason.status_code == 400 and "reason" in error(no_reason)["fields"]

    cancelled = sys.client.post(f"{API}/requests/{request_id}/cancel", headers=bearer(customer),
                                json={"reason": "Передумал"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    for refused in (
            act(sys, operator, request_id, "reject", reason="Поздно"),
            act(sys, operator, request_id, "accept"),
            act(sys, operator, request_id, "assign"),
            act(sys, operator, request_id, "messages", text="Вы отменили?"),
            sys.client.post(f"{API}/requests/{request_id}/messages", headers=bearer(customer),
                            json={"text": "Ещё вопрос"}),
            sys.client.post(f"{API}/requests/{request_id}/cancel", headers=bearer(customer),
                            json={})):
        assert refused.status_code == 409, refused.json
        assert set(error(refused)["fields"]) == {"status"}
    # The customer's own cancellation makes no notice; a rejection does, with its reason.
    second = order(sys, customer, account_id=account_id).json["id"]
    rejected = act(sys, operator, second, "reject", reason="Счётчик на балансе сетевой компании")
    assert rejected.status_code == 200 and rejected.json["reason"].startswith("Счётчик")
    told = until(lambda: [n for n in notices(sys, customer, "request_status")
                          if n["title"] == "Заявка отклонена"], "the rejection notice")
    assert "Счётчик на балансе сетевой компании" in told[0]["body"]
    assert [n["title"] for n in notices(sys, customer, "request_status")] == [
        "Заявка отклонена", "Заявка принята"]  # newest first; no «Заявка отменена»


def test_attachments_good_and_bad(sys):
    customer, account_id = customer_with_account(sys)

    def attach(*files):
        return order(sys, customer, account_id=account_id, attachments=list(files))

    text = attach(upload(b"just some text, honestly", "счёт.pdf"))
    assert text.status_code == 422
    assert error(text)["field_codes"] == {"attachments[0]": "not JPEG, PNG or PDF"}
    assert "счёт.pdf" in error(text)["message"]
    fake = attach(upload(sample_image(), "ok.png"), upload(b"%PDF-1.7 nothing else", "x.pdf"))
    assert fake.status_code == 422 and error(fake)["field_codes"] == {"attachments[1]": "damaged PDF"}
    locked = attach(upload(sample_pdf(password="1234"), "x.pdf"))
    assert error(locked)["field_codes"] == {"attachments[0]": "PDF is password-protected"}
    limit = sys.config["REQUEST_ATTACHMENTS_MAX"]
    many = attach(*[upload(sample_image(), f"{i}.png") for i in range(limit + 1)])
    assert many.status_code == 422 and error(many)["field_codes"] == {
        "attachments": f"at most {limit} files"}
    size = sys.config["REQUEST_ATTACHMENT_MAX_BYTES"]
    big = attach(upload(b"\xff" * (size + 1), "huge.jpg"))
    assert big.status_code == 422 and error(big)["field_codes"] == {
        "attachments[0]": f"larger than {size} bytes"}
    garbled = attach({"filename": "a.png", "content_base64": "not base64!"})
    assert error(garbled)["field_codes"] == {"attachments[0].content_base64": "not base64"}
    nameless = attach({"content_base64": "aGVsbG8="})
    assert nameless.status_code == 400 and "attachments" in error(nameless)["fields"]
    assert sys.client.get(f"{API}/requests", headers=bearer(customer)).json == {
        "items": [], "next": None}  # none made

    good = attach(upload(sample_image("PNG"), "схема подключения"))
    assert good.status_code == 201
    [file] = good.json["messages"][0]["attachments"]
    assert (file["filename"], file["content_type"]) == ("схема подключения.png", "image/png")
    photo = download(sys, customer, good.json["id"], file["id"])
    assert photo.mimetype == "image/png" and photo.data == sample_image("PNG")
    only_a_file = sys.client.post(f"{API}/requests/{good.json['id']}/messages",
                                  headers=bearer(customer),
                                  json={"attachments": [upload(sample_pdf(), "акт.pdf")]})
    assert only_a_file.status_code == 201
    empty = sys.client.post(f"{API}/requests/{good.json['id']}/messages",
                            headers=bearer(customer), json={"text": "  "})
    assert empty.status_code == 422 and error(empty)["field_codes"] == {"text": "required"}


def test_which_account_a_work_is_ordered_on(sys):
    customer, account_id = customer_with_account(sys)
    without = order(sys, customer)
    assert without.status_code == 422
    assert error(without)["field_codes"] == {"account_id": "required for this work"}
    owner, others = customer_with_account(sys)
    assert order(sys, customer, account_id=others).status_code == 404
    sys.wait_contact(customer["user"]["id"])
    granted = sys.client.post(f"{API}/accounts/{others}/trusted", headers=bearer(owner),
                              json={"phone": customer["user"]["phone"], "access": "read"})
    assert granted.status_code == 201
    read_only = order(sys, customer, account_id=others)
    assert read_only.status_code == 403
    elsewhere = order(sys, customer, account_id=account_id, branch="anapa")
    assert error(elsewhere)["field_codes"] == {"branch": "not the account's branch"}

    contract = {"work": "supply_contract", "message": "Новый дом, нужен договор"}
    no_branch = order(sys, customer, **contract, address="ст. Гиагинская, ул. Новая, 5")
    assert error(no_branch)["field_codes"] == {"branch": "required without an account"}
    unknown = order(sys, customer, **contract, branch="moscow", address="г. Москва")
    assert error(unknown)["field_codes"] == {"branch": "unknown branch"}
    no_address = order(sys, customer, **contract, branch="krasnodar")
    assert error(no_address)["field_codes"] == {"address": "required without an account"}
    made = order(sys, customer, **contract, branch="krasnodar",
                 address="г. Краснодар, ул. Новая, 5")
    assert made.status_code == 201 and made.json["number"] is None
    assert made.json["work_title"] == "Заключить договор" and made.json["branch"] == "krasnodar"
    bad_phone = order(sys, customer, account_id=account_id, contact_phone="123")
    assert error(bad_phone)["field_codes"] == {"contact_phone": "not a valid number"}


def test_a_customer_never_sees_anothers_requests_nor_the_operators_side(sys, staff, operator):
    owner, account_id = customer_with_account(sys)
    request = order(sys, owner, account_id=account_id,
                    attachments=[upload(sample_pdf(), "паспорт.pdf")]).json
    file_id = request["messages"][0]["attachments"][0]["id"]
    stranger = register_by_phone(sys, new_phone())
    h = bearer(stranger)
    base = f"{API}/requests/{request['id']}"
    assert sys.client.get(f"{API}/requests", headers=h).json["items"] == []
    assert sys.client.get(f"{API}/requests/counts", headers=h).json == {
        "open_requests": 0, "unread_replies": 0}
    attempts = [sys.client.get(base, headers=h),
                sys.client.post(f"{base}/cancel", headers=h, json={}),
                sys.client.post(f"{base}/messages", headers=h, json={"text": "Привет"}),
                download(sys, stranger, request["id"], file_id)]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    operator_side = [
        sys.client.get(f"{API}/operator/requests", headers=h),
        sys.client.get(f"{API}/operator/staff", headers=h),
        sys.client.get(f"{API}/operator/requests/{request['id']}", headers=h),
        *[act(sys, stranger, request["id"], step, **body) for step, body in (
            ("accept", {}), ("assign", {}), ("complete", {}), ("reject", {"reason": "x"}),
            ("schedule", {"scheduled_at": in_days(sys, 1).isoformat()}),
            ("messages", {"text": "Я оператор"}))],
        sys.client.get(f"{API}/admin/works", headers=h),
        sys.client.put(f"{API}/admin/works/other", headers=h, json={"price": "1"}),
        sys.client.put(f"{API}/admin/works/other", headers=bearer(operator), json={"price": "1"}),
    ]
    assert [r.status_code for r in operator_side] == [403] * len(operator_side)
    assert sys.client.get(base).status_code == 401
    assert sys.client.get(f"{API}/requests/99999999999", headers=h).status_code == 404
    assert sys.client.get(f"{API}/operator/requests").status_code == 401
    # Nothing changed for the owner; the operator sees it whole.
    assert sys.client.get(base, headers=bearer(owner)).json["status"] == "new"
    assert download(sys, operator, request["id"], file_id).status_code == 200


def test_the_operators_queue_filters_and_assignment(sys, staff, operator):
    customer, account_id = customer_with_account(sys)
    on_account = order(sys, customer, account_id=account_id).json["id"]
    elsewhere = order(sys, customer, work="electrical_works", branch="anapa",
                      address="г. Анапа, ул. Ленина, 2", message="Заменить проводку").json["id"]

    def ids(**filters) -> list[int]:
        response = sys.client.get(f"{API}/operator/requests", headers=bearer(operator),
                                  query_string={"limit": 100, **filters})
        assert response.status_code == 200, response.json
        return [r["id"] for r in response.json["items"]]

    assert elsewhere in ids(branch="anapa") and on_account not in ids(branch="anapa")
    assert on_account in ids(work="meter_replacement") and elsewhere not in ids(
        work="meter_replacement")
    today = sys.clock.now().astimezone(MSK).date()
    assert {on_account, elsewhere} <= set(ids(date_from=today.isoformat(),
                                              date_to=today.isoformat()))
    assert not {on_account, elsewhere} & set(ids(date_to=(today - timedelta(days=1))
                                                 .isoformat()))
    # Assigning: to oneself, then to the other operator (known from auth's events).
    assert act(sys, operator, elsewhere, "assign").json["assignee_id"] == operator["user"]["id"]
    assert elsewhere in ids(assignee="me") and elsewhere not in ids(assignee="none")

    def operator2():
        listed = sys.client.get(f"{API}/operator/staff", headers=bearer(operator)).json
        return next((s["user_id"] for s in listed if s["label"] == staff["operator2"]), None)

    other = until(operator2, "operator2 to be known to requests")
    assert other == staff_login(sys, staff, "operator2")["user"]["id"]
    handed = act(sys, operator, elsewhere, "assign", operator_id=other)
    assert handed.status_code == 200 and handed.json["assignee_id"] == other
    assert elsewhere in ids(assignee=other) and elsewhere not in ids(assignee="me")
    nobody = act(sys, operator, elsewhere, "assign", operator_id=customer["user"]["id"])
    assert nobody.status_code == 404 and error(nobody)["field_codes"] == {
        "operator_id": "not an operator"}

    bad = sys.client.get(f"{API}/operator/requests", headers=bearer(operator),
                         query_string={"status": "lost", "date_from": "вчера"})
    assert bad.status_code == 422 and set(error(bad)["fields"]) == {"status", "date_from"}
    stranger_param = sys.client.get(f"{API}/operator/requests", headers=bearer(operator),
                                    query_string={"colour": "red"})
    assert stranger_param.status_code == 400 and "colour" in error(stranger_param)["fields"]


def test_the_customers_list_and_the_queue_page_by_cursor(sys, operator):
    customer, account_id = customer_with_account(sys)
    made = [order(sys, customer, account_id=account_id).json["id"] for _ in range(3)]
    mine = assert_paged(sys, f"{API}/requests", bearer(customer), 3)
    assert [r["id"] for r in mine] == made[::-1]  # newest first
    queue = assert_paged(sys, f"{API}/operator/requests", bearer(operator), 3)
    ids = [r["id"] for r in queue]
    assert ids == sorted(ids) and set(made) <= set(ids)  # oldest first


def test_a_requests_conversation_pages_by_cursor(sys, staff, operator):
    customer, account_id = customer_with_account(sys)
    request_id = order(sys, customer, account_id=account_id).json["id"]
    for n in range(1, 22):  # with the order's text, two more than the request itself shows
        reply = sys.client.post(f"{API}/operator/requests/{request_id}/messages",
                                headers=bearer(operator), json={"text": f"Ответ {n}"})
        assert reply.status_code == 201, reply.json
    path = f"{API}/requests/{request_id}/messages"
    mine = assert_paged(sys, path, bearer(customer), 22)
    texts = [m["text"] for m in mine]
    assert texts == ["Счётчик не работает, прошу заменить"] + [f"Ответ {n}" for n in range(1, 22)]
    assert [m["id"] for m in mine] == sorted(m["id"] for m in mine)  # oldest first
    seen = assert_paged(sys, f"{API}/operator/requests/{request_id}/messages", bearer(operator),
                        22)
    assert [m["id"] for m in seen] == [m["id"] for m in mine]
    # The request itself: the latest 20, and the cursor back to the two before them.
    detail = sys.client.get(f"{API}/requests/{request_id}", headers=bearer(customer)).json
    assert [m["text"] for m in detail["messages"]] == texts[2:]
    earlier = sys.client.get(path, headers=bearer(customer),
                             query_string={"cursor": detail["messages_earlier"]}).json
    assert [m["text"] for m in earlier["items"]] == texts[:2] and earlier["earlier"] is None
    assert earlier["next"] is not None
    contract = Contract(sys)  # both answers as the OpenAPI document publishes them
    contract.call("GET", f"{API}/operator/requests/{request_id}", 200, headers=bearer(operator))
    contract.call("GET", path, 200, headers=bearer(customer),
                  query_string={"cursor": detail["messages_earlier"], "limit": 1})
    for forged in (["sideways", 1], ["after", 2**70], [1], ["before", "1"]):
        refused = sys.client.get(path, headers=bearer(customer),
                                 query_string={"cursor": paging.encode(forged)})
        assert refused.status_code in (400, 422) and set(error(refused)["fields"]) == {"cursor"}
    # Someone else's conversation is as missing as the request; a customer is no operator.
    stranger = register_by_phone(sys, new_phone())
    assert sys.client.get(path, headers=bearer(stranger)).status_code == 404
    assert sys.client.get(f"{API}/operator/requests/{request_id}/messages",
                          headers=bearer(stranger)).status_code == 403


def test_the_admin_edits_the_catalogue_without_a_release(sys, staff):
    admin = staff_login(sys, staff, "admin")
    made = sys.client.put(f"{API}/admin/works/meter_check", headers=bearer(admin), json={
        "title": "Внеочередная проверка счётчика", "needs_account": True, "price": "1250.00"})
    assert made.status_code == 200, made.json
    offered = {w["code"]: w for w in sys.client.get(f"{API}/requests/catalogue").json}
    assert offered["meter_check"]["price"] == "1250.00"
    customer, account_id = customer_with_account(sys)
    ordered = order(sys, customer, work="meter_check", account_id=account_id)
    assert ordered.status_code == 201 and ordered.json["price"] == "1250.00"

    hidden = sys.client.put(f"{API}/admin/works/meter_check", headers=bearer(admin),
                            json={"active": False, "price": 1300})
    assert hidden.status_code == 200 and hidden.json["price"] == "1300.00"
    assert "meter_check" not in {w["code"] for w in sys.client.get(
        f"{API}/requests/catalogue").json}
    assert "meter_check" in {w["code"] for w in sys.client.get(
        f"{API}/admin/works", headers=bearer(admin)).json}
    refused = order(sys, customer, work="meter_check", account_id=account_id)
    assert refused.status_code == 422 and error(refused)["field_codes"] == {
        "work": "unknown or not offered"}
    # The request made before keeps the price it was ordered at.
    kept = sys.client.get(f"{API}/requests/{ordered.json['id']}", headers=bearer(customer))
    assert kept.json["price"] == "1250.00"
    bad = sys.client.put(f"{API}/admin/works/meter_check", headers=bearer(admin),
                         json={"price": "12.345"})
    assert bad.status_code == 422 and error(bad)["field_codes"] == {
        "price": "at most 2 decimal places (kopecks)"}


def test_a_deleted_customers_open_requests_end_and_vanish(sys, operator):
    customer, account_id = customer_with_account(sys)
    request_id = order(sys, customer, account_id=account_id,
                       attachments=[upload(sample_image(), "фото.png")]).json["id"]
    tap = sys.tap("requests")
    deleted = sys.client.post(f"{API}/auth/me/delete", headers=bearer(customer),
                              json={"password": PASSWORD})
    assert deleted.status_code == 200
    event = tap.wait_for("request_status_changed", lambda p: p["request_id"] == request_id)
    assert (event["payload"]["status"], event["payload"]["actor_role"]) == ("cancelled", "system")
    tap.close()
    until(lambda: sys.client.get(f"{API}/operator/requests/{request_id}",
                                 headers=bearer(operator)).status_code == 404,
          "the request to be erased")

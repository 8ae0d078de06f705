"""Ordering works, the rules as plain Python: an in-memory database, the real file store in a
temporary folder, accounts faked, and every event checked against its contract."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from services.requests.domain import catalogue
from services.requests.domain.orders import Orders
from services.requests.models import RequestsBase, Work
from shared import paging
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.events import make_envelope
from shared.storage import LocalDiskStore
from shared.work import Work as Deps
from tests.unit.test_requests_attachments import sample_pdf, upload

NOW = datetime(2026, 3, 2, 21, 30, tzinfo=timezone.utc)  # 3 March, 00:30 in Moscow
CONFIG = {"SUPPLIER_TIMEZONE": "Europe/Moscow", "REQUEST_ATTACHMENTS_MAX": 3,
          "REQUEST_ATTACHMENT_MAX_BYTES": 10**6}
ACCOUNTS = {7: {"account_id": 7, "number": "123456789", "branch": "mostovskoy"}}
PHONE = "8 918 123-45-67"


class World:
    def __init__(self, db: Session, store: LocalDiskStore) -> None:
        self.db, self.store = db, store
        self.events: list[dict[str, Any]] = []
        self.now = NOW

    def orders(self) -> Orders:
        record = lambda kind, payload: self.events.append(  # noqa: E731
            make_envelope("requests", kind, payload, self.now))  # checks the contract
        return Orders(Deps(db=self.db, config=CONFIG, now=self.now, record=record), self.store)

    def order(self, user: str = "u1", **fields: Any) -> dict[str, Any]:
        data = {"work": "meter_replacement", "message": "Счётчик не работает",
                "contact_phone": PHONE, "account_id": 7, **fields}
        return self.orders().create(user, data, account_of, lambda: {"mostovskoy", "anapa"})

    def files(self) -> list[str]:
        return sorted(p.name for p in self.store.root.rglob("*") if p.is_file())


def account_of(account_id: int) -> dict[str, Any]:
    if account_id == 8:
        raise Forbidden("Только просмотр", {"account_id": "read-only access"})
    if account_id not in ACCOUNTS:
        raise NotFound("Лицевой счёт не найден", {"account_id": "not yours"})
    return ACCOUNTS[account_id]


@pytest.fixture
def world(tmp_path) -> World:
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    RequestsBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(Work), catalogue.seed_rows())
    db = Session(engine, expire_on_commit=False)
    yield World(db, LocalDiskStore(tmp_path / "files"))
    db.close()
    engine.dispose()


def test_the_shipped_catalogue_has_the_manuals_works():
    rows = {r["title"]: r for r in catalogue.seed_rows()}
    assert len(rows) == 10
    assert rows["Замена электросчетчика"]["needs_account"] is True
    assert rows["Проверка схемы подключения электросчетчика с целью опломбировки без л/с"][
        "needs_account"] is False
    assert rows["Заключить договор"]["needs_account"] is False
    assert {"Распломбировка по срочной процедуре", "Программирование многотарифного "
            "электросчетчика", "Прочие услуги", "Электромонтажные работы"} <= set(rows)


def test_an_order_on_an_account_with_a_file(world):
    view = world.order(attachments=[upload(sample_pdf(), "акт.pdf")])
    assert view["status"] == "new" and view["number"] == "123456789"
    assert view["contact_phone"] == "+79181234567" and view["branch"] == "mostovskoy"
    [message] = view["messages"]
    assert message["text"] == "Счётчик не работает"
    assert message["attachments"][0]["content_type"] == "application/pdf"
    assert len(world.files()) == 1
    [event] = world.events
    assert event["type"] == "request_created"
    assert event["payload"]["work_title"] == "Замена электросчетчика"
    assert event["payload"]["attachments"][0]["filename"] == "акт.pdf"


@pytest.mark.parametrize("fields,error", [
    ({"account_id": None}, {"account_id": "required for this work"}),
    ({"work": "teleport"}, {"work": "unknown or not offered"}),
    ({"message": "   "}, {"message": "required"}),
    ({"contact_phone": "12"}, {"contact_phone": "not a valid number"}),
    ({"account_id": "7"}, {"account_id": "must be an integer"}),
    ({"branch": "anapa"}, {"branch": "not the account's branch"}),
    ({"work": "other", "account_id": None, "address": "г. Анапа"},
     {"branch": "required without an account"}),
    ({"work": "other", "account_id": None, "branch": "moscow", "address": "г. Анапа"},
     {"branch": "unknown branch"}),
    ({"work": "other", "account_id": None, "branch": "anapa"},
     {"address": "required without an account"}),
    ({"preferred_time": "x" * 201}, {"preferred_time": "longer than 200"}),
])
def test_bad_orders_name_the_field(world, fields, error):
    with pytest.raises(ValidationFailed) as refused:
        world.order(**fields)
    assert refused.value.fields == error
    assert world.events == [] and world.files() == []


def test_the_account_must_be_the_callers_with_full_access(world):
    with pytest.raises(NotFound):
        world.order(account_id=99)
    with pytest.raises(Forbidden):
        world.order(account_id=8)


def test_a_work_without_account_takes_a_branch_and_an_address(world):
    view = world.order(work="sealing_check_no_account", account_id=None, branch="anapa",
                       address="г. Анапа, ул. Морская, 1", preferred_time="после 17:00")
    assert view["branch"] == "anapa" and view["number"] is None
    assert view["address"] == "г. Анапа, ул. Морская, 1"


def test_files_do_not_outlive_a_failed_transaction(world, monkeypatch):
    def broken_commit() -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.db, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        world.order(attachments=[upload(sample_pdf())])
    assert world.files() == []


def test_the_life_of_a_request_and_its_events(world):
    request_id = world.order()["id"]
    orders = world.orders()
    orders.remember_staff("op1", "operator")
    assert orders.act("op1", request_id, "accept", {})["assignee_id"] == "op1"
    when = (NOW + timedelta(days=2)).replace(hour=7, minute=0)
    scheduled = orders.act("op1", request_id, "schedule", {"scheduled_at": when.isoformat()})
    assert scheduled["scheduled_at"] == "2026-03-04T10:00:00+03:00"  # the supplier's time
    done = orders.act("op1", request_id, "complete", {})
    assert [h["status"] for h in done["history"]] == ["new", "accepted", "scheduled", "done"]
    changes = [e["payload"] for e in world.events if e["type"] == "request_status_changed"]
    assert [(c["old_status"], c["status"]) for c in changes] == [
        ("new", "accepted"), ("accepted", "scheduled"), ("scheduled", "done")]
    assert changes[1]["scheduled_at"] == "2026-03-04T10:00:00+03:00"
    assert {c["actor_role"] for c in changes} == {"operator"}


@pytest.mark.parametrize("value,error", [
    ((NOW - timedelta(minutes=1)).isoformat(), "in the past"),
    ((NOW + timedelta(days=400)).isoformat(), "more than a year ahead"),
    ("2026-03-05T10:00:00", "needs a time zone offset, e.g. +03:00"),
    ("завтра", "ISO 8601 date and time, e.g. 2026-12-15T10:00:00+03:00"),
    (None, "required"),
])
def test_a_date_of_works_is_checked(world, value, error):
    request_id = world.order()["id"]
    world.orders().act("op1", request_id, "accept", {})
    with pytest.raises(ValidationFailed) as refused:
        world.orders().act("op1", request_id, "schedule", {"scheduled_at": value})
    assert refused.value.fields == {"scheduled_at": error}


def test_rejection_needs_a_reason_and_closes_the_conversation(world):
    request_id = world.order()["id"]
    with pytest.raises(ValidationFailed) as no_reason:
        world.orders().act("op1", request_id, "reject", {"reason": " "})
    assert no_reason.value.fields == {"reason": "required"}
    rejected = world.orders().act("op1", request_id, "reject", {"reason": "Нет доступа"})
    assert rejected["reason"] == "Нет доступа" and rejected["status"] == "rejected"
    with pytest.raises(Conflict):
        world.orders().customer_writes("u1", request_id, {"text": "Почему?"})
    with pytest.raises(Conflict):
        world.orders().cancel("u1", request_id, {})


def test_unread_replies_and_the_header_counts(world):
    first = world.order()["id"]
    world.order()
    orders = world.orders()
    orders.operator_writes("op1", first, {"text": "Уточните номер счётчика"})
    orders.operator_writes("op1", first, {"attachments": [upload(sample_pdf(), "бланк")]})
    assert orders.counts("u1") == {"open_requests": 2, "unread_replies": 2}
    assert [r["unread"] for r in orders.mine("u1")["items"]] == [0, 2]
    assert orders.queue("op1", {})["items"][0]["unread"] == 1  # the customer's order text
    seen = orders.view_own("u1", first)
    assert [m["new"] for m in seen["messages"]] == [False, True, True]
    assert seen["messages"][2]["attachments"][0]["filename"] == "бланк.pdf"
    assert world.orders().counts("u1") == {"open_requests": 2, "unread_replies": 0}
    world.orders().cancel("u1", first, {"reason": "Сам починил"})
    assert world.orders().counts("u1")["open_requests"] == 1


def test_nobody_reaches_another_customers_request(world):
    request_id = world.order()["id"]
    attachment = world.orders().operator_writes(
        "op1", request_id, {"attachments": [upload(sample_pdf())]})["messages"][1][
        "attachments"][0]["id"]
    orders = world.orders()
    for attempt in (lambda: orders.view_own("u2", request_id),
                    lambda: orders.cancel("u2", request_id, {}),
                    lambda: orders.customer_writes("u2", request_id, {"text": "hi"}),
                    lambda: orders.attachment("u2", False, request_id, attachment)):
        with pytest.raises(NotFound):
            attempt()
    assert orders.mine("u2") == {"items": [], "next": None}
    got = orders.attachment("u1", False, request_id, attachment)
    assert got["content_type"] == "application/pdf" and got["content_base64"]
    assert orders.attachment("op1", True, request_id, attachment)["size"] == got["size"]


def test_queue_filters(world):
    world.order()                                                             # 1
    world.order(user="u2", work="other", account_id=None, branch="anapa",    # 2
                address="г. Анапа")
    world.now = NOW + timedelta(days=1)
    third = world.order()["id"]                                               # 3
    orders = world.orders()
    orders.remember_staff("op2", "operator")
    orders.assign("op1", third, {"operator_id": "op2"})

    def ids(**filters: Any) -> list[int]:
        return [r["id"] for r in world.orders().queue("op1", filters)["items"]]

    assert ids() == [1, 2, 3]
    assert ids(branch="anapa") == [2] and ids(work="meter_replacement") == [1, 3]
    assert ids(date_from="2026-03-03", date_to="2026-03-03") == [1, 2]  # Moscow dates
    assert ids(date_from="2026-03-04") == [3]
    assert ids(assignee="none") == [1, 2] and ids(assignee="op2") == [3]
    first = world.orders().queue("op1", {"status": "new", "limit": 2})
    assert [r["id"] for r in first["items"]] == [1, 2]
    assert ids(status="new", cursor=first["next"]) == [3]
    with pytest.raises(ValidationFailed) as bad:
        ids(status="lost", date_from="03.03.2026")
    assert bad.value.fields == {"status": "one of new, accepted, scheduled, done, cancelled, "
                                          "rejected", "date_from": "a date YYYY-MM-DD"}
    with pytest.raises(ValidationFailed) as bad:
        ids(limit=0)
    assert set(bad.value.fields) == {"limit"}
    with pytest.raises(NotFound) as nobody:
        world.orders().assign("op1", third, {"operator_id": "stranger"})
    assert nobody.value.fields == {"operator_id": "not an operator"}


def test_the_admin_edits_the_catalogue(world):
    deps = world.orders().d
    saved = catalogue.save(deps, "unsealing", {"price": "1500.5"})
    assert saved["price"] == "1500.50" and saved["title"] == "Распломбировка"
    catalogue.save(deps, "other", {"active": False})
    assert "other" not in [w["code"] for w in catalogue.works(world.db)]
    with pytest.raises(ValidationFailed):
        world.order(work="other", account_id=None, branch="anapa", address="г. Анапа")
    new = catalogue.save(deps, "meter_check", {"title": "Проверка счётчика", "needs_account": True})
    assert new["active"] is True and new["needs_account"] is True
    for code, data, error in [
        ("Bad Code", {"title": "x"}, {"code": "2 to 40 of a-z, 0-9, _ starting with a letter"}),
        ("brand_new", {"price": 10}, {"title": "required"}),
        ("unsealing", {"price": "1.005"}, {"price": "at most 2 decimal places (kopecks)"}),
        ("unsealing", {"title": None}, {"title": "required"}),
        ("unsealing", {"colour": "red"}, {"colour": "Unknown field."}),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            catalogue.save(deps, code, data)
        assert refused.value.fields == error
    assert catalogue.save(deps, "unsealing", {"price": None})["price"] is None


def test_a_deleted_customer_leaves_nothing_and_the_crm_hears_open_ones_end(world):
    open_id = world.order(attachments=[upload(sample_pdf())])["id"]
    closed_id = world.order()["id"]
    world.orders().act("op1", closed_id, "reject", {"reason": "Дубль"})
    orders = world.orders()
    keys = orders.user_deleted({"user_id": "u1"})
    world.db.commit()
    for key in keys:
        world.store.delete(key)
    assert orders.mine("u1")["items"] == [] and world.files() == []
    last = world.events[-1]["payload"]
    assert (last["request_id"], last["status"], last["actor_role"]) == (open_id, "cancelled",
                                                                       "system")


def test_ids_beyond_an_integer_column_are_simply_not_found(world):
    with pytest.raises(NotFound):
        world.orders().view_own("u1", 2**40)  # PostgreSQL would fail on the query itself
    with pytest.raises(ValidationFailed) as refused:
        world.order(account_id=2**40)
    assert refused.value.fields == {"account_id": "no such account"}
    with pytest.raises(ValidationFailed) as not_a_number:
        world.orders().view_own("u1", "1")
    assert not_a_number.value.fields == {"request_id": "must be an integer"}


def test_a_long_conversation_comes_by_pages_both_ways(world):
    request_id = world.order()["id"]  # message 1: the order's text
    for n in range(2, 46):
        world.orders().operator_writes("op1", request_id, {"text": f"Ответ {n}"})
    texts = lambda items: [m["text"] for m in items]  # noqa: E731
    detail = world.orders().view_any(request_id)
    assert texts(detail["messages"]) == [f"Ответ {n}" for n in range(26, 46)]  # the latest 20
    earlier = world.orders().conversation_own("u1", request_id, detail["messages_earlier"], 20)
    assert texts(earlier["items"]) == [f"Ответ {n}" for n in range(6, 26)]
    assert earlier["next"] is not None  # back towards the latest
    first = world.orders().conversation_own("u1", request_id, earlier["earlier"], 20)
    assert texts(first["items"])[1:] == [f"Ответ {n}" for n in range(2, 6)]
    assert first["earlier"] is None and len(first["items"]) == 5
    # Forward from the start, as every list: all 45 once, in order.
    seen, cursor = [], None
    for _ in range(10):
        page = world.orders().conversation_any(request_id, cursor, 20)
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    assert [m["id"] for m in seen] == sorted({m["id"] for m in seen}) and len(seen) == 45
    # Pages mark nothing read: opening the request does.
    assert world.orders().counts("u1")["unread_replies"] == 44
    with pytest.raises(ValidationFailed) as refused:
        world.orders().conversation_own("u1", request_id, paging.encode(["sideways", 1]), 20)
    assert "cursor" in refused.value.fields
    with pytest.raises(NotFound):
        world.orders().conversation_own("u2", request_id, None, 20)

"""«Операторам» in a browser: a customer orders a work and submits documents (through the
API: those pages have tests of their own); an operator logs in by e-mail, finds the request
in the queue, answers with a file, takes it, sets the date, closes it; reviews the
documents (rejects one with a reason, accepts another with a tariff category). A customer
is not let in."""
from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfWriter

from tests.e2e.conftest import log_in
from tests.e2e.stack import Stack


def sample_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sample_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def order(stack: Stack, customer: dict[str, Any], account_id: int, message: str) -> dict:
    """«+ Заказать услугу» through the API, with a PDF attached."""
    works = stack.api("GET", "/requests/catalogue").json()
    work = next(w for w in works if w.get("needs_account")) if any(
        w.get("needs_account") for w in works) else works[0]
    r = stack.api("POST", "/requests", customer["access_token"], json={
        "work": work["code"], "message": message, "contact_phone": customer["phone"],
        "account_id": account_id, "preferred_time": "будни после 17:00",
        "attachments": [{"filename": "схема.pdf", "content_base64": b64(sample_pdf())}]})
    assert r.status_code == 201, r.text
    return {**r.json(), "work": work}


def submit_document(stack: Stack, customer: dict[str, Any], account_id: int, doc_type: str,
                    data: bytes, filename: str) -> dict:
    r = stack.api("POST", f"/accounts/{account_id}/documents", customer["access_token"],
                  json={"doc_type": doc_type, "filename": filename, "content_base64": b64(data)})
    assert r.status_code == 201, r.text
    return r.json()


def fresh_token(stack: Stack, customer: dict[str, Any]) -> str:
    """The customer's access token now (the one from registration may have expired)."""
    r = stack.api("POST", "/auth/login", json={"phone": customer["phone"],
                                               "password": customer["password"]})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def log_in_by_email(page: Page, staff: dict[str, str]) -> None:
    """The operator signs in on the tab «По электронной почте»."""
    page.goto("/login")
    page.get_by_role("link", name="По электронной почте").click()
    page.get_by_label("Электронная почта").fill(staff["email"])
    page.get_by_label("Пароль").fill(staff["password"])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()


def find_in_queue(page: Page, request_id: int) -> None:
    """The request's row in the filtered queue, going through its pages if need be."""
    link = page.get_by_role("link", name=f"Заявка № {request_id}", exact=True)
    for _ in range(20):
        if link.count():
            break
        page.get_by_role("link", name="Следующие заявки →").click()
    expect(link).to_be_visible()


@pytest.fixture
def ordered(stack: Stack, customer: dict[str, Any]) -> dict[str, Any]:
    account_id = stack.link_demo_account(customer["access_token"])
    first = order(stack, customer, account_id, "Прошу заменить счётчик, старый не работает.")
    second = order(stack, customer, account_id, "Вторая заявка: проверить пломбу.")
    return {"customer": customer, "account_id": account_id, "first": first, "second": second}


def test_the_operator_works_a_request_through_the_queue(page: Page, stack: Stack,
                                                        ordered: dict[str, Any]) -> None:
    first, second = ordered["first"], ordered["second"]
    log_in_by_email(page, stack.make_staff("operator"))
    page.get_by_role("link", name="Операторам").click()
    expect(page.get_by_role("heading", name="Заявки клиентов")).to_be_visible()

    # A date that is not one is told by its field; the queue is not asked.
    page.get_by_label("Создана с").fill("31.02.2026")
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("error-date_from")).to_contain_text("дд.мм.гггг")
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    # The filters: new requests of this work and branch, without an assignee, made today.
    today = date.today().strftime("%d.%m.%Y")
    page.get_by_label("Создана с").fill(today)
    page.get_by_label("по", exact=True).fill(today)
    page.get_by_label("Статус").select_option(label="Новая")
    page.get_by_label("Услуга").select_option(first["work"]["code"])
    page.get_by_label("Филиал").select_option("mostovskoy")
    page.get_by_label("Исполнитель").select_option(label="Без исполнителя")
    page.get_by_role("button", name="Показать").click()
    expect(page).to_have_url(re.compile(r"status=new"))
    find_in_queue(page, first["id"])
    page.get_by_role("link", name=f"Заявка № {first['id']}", exact=True).click()

    # The request: what the customer wrote, their file, the steps a new request allows.
    expect(page.get_by_role("heading", name=f"Заявка № {first['id']}")).to_contain_text("Новая")
    expect(page.get_by_text("Прошу заменить счётчик, старый не работает.")).to_be_visible()
    expect(page.get_by_test_id("request-facts")).to_contain_text("будни после 17:00")
    with page.expect_download() as download:
        page.get_by_role("link", name="схема.pdf").click()
    assert download.value.suggested_filename == "схема.pdf"
    assert page.get_by_role("button", name="Работы выполнены").count() == 0
    assert page.get_by_role("button", name="Назначить дату").count() == 0

    # A reply with a file: empty first (the API's message by the field), then with text.
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_test_id("error-text")).to_contain_text("Введите текст сообщения")
    page.get_by_label("Ответ клиенту").fill("Здравствуйте! Пришлите, пожалуйста, фото счётчика.")
    page.get_by_label("Прикрепить файлы").set_input_files(
        files=[{"name": "образец.png", "mimeType": "image/png", "buffer": sample_png()}])
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_role("status")).to_contain_text("Ответ отправлен")
    expect(page.get_by_text("Пришлите, пожалуйста, фото счётчика.")).to_be_visible()
    expect(page.get_by_role("link", name="образец.png")).to_be_visible()

    # «Взять в работу»: accepted and mine.
    page.get_by_role("button", name="Взять в работу").click()
    expect(page.get_by_role("status")).to_contain_text("Заявка принята в работу")
    expect(page.get_by_role("heading", name=f"Заявка № {first['id']}")).to_contain_text("Принята")
    expect(page.get_by_test_id("assignee")).to_have_text("Вы")

    # «Назначить дату»: a wrong date by its field, then a real one.
    page.get_by_label("Дата работ").fill("32.13.2026")
    page.get_by_label("Время").fill("10:00")
    page.get_by_role("button", name="Назначить дату").click()
    expect(page.get_by_test_id("error-date")).to_contain_text("дд.мм.гггг")
    day = (date.today() + timedelta(days=3)).strftime("%d.%m.%Y")
    page.get_by_label("Дата работ").fill(day)
    page.get_by_label("Время").fill("10:00")
    page.get_by_role("button", name="Назначить дату").click()
    expect(page.get_by_role("status")).to_contain_text("Дата работ назначена")
    expect(page.get_by_test_id("scheduled-at")).to_contain_text(f"{day} 10:00")

    # Close as done: the steps are gone.
    page.get_by_role("button", name="Работы выполнены").click()
    expect(page.get_by_role("heading", name=f"Заявка № {first['id']}")).to_contain_text(
        "Выполнена")
    expect(page.get_by_role("heading", name="Заявка закрыта")).to_be_visible()
    assert page.get_by_role("button", name="Отправить").count() == 0
    seen = stack.api("GET", f"/requests/{first['id']}",
                     fresh_token(stack, ordered["customer"])).json()
    assert seen["status"] == "done"
    assert any("фото счётчика" in m["text"] for m in seen["messages"])

    # Another operator got there first: the API's 409 in its own words.
    page.goto(f"/operator/requests/{second['id']}")
    page.get_by_label("Причина отказа").fill("Работы не входят в зону обслуживания")
    page.get_by_role("button", name="Отклонить").click()
    expect(page.get_by_role("status")).to_contain_text("Заявка отклонена")
    page.goto(f"/operator/requests/{second['id']}")
    expect(page.get_by_test_id("request-facts")).to_contain_text(
        "Работы не входят в зону обслуживания")


def test_a_step_the_status_no_longer_allows_shows_the_api_s_reason(
        page: Page, stack: Stack, ordered: dict[str, Any]) -> None:
    staff = stack.make_staff("operator")
    log_in_by_email(page, staff)
    second = ordered["second"]
    page.goto(f"/operator/requests/{second['id']}")
    expect(page.get_by_role("button", name="Взять в работу")).to_be_visible()
    # Meanwhile another operator rejects it.
    other = stack.make_staff("operator")
    token = stack.api("POST", "/auth/login", json=other).json()["access_token"]
    r = stack.api("POST", f"/operator/requests/{second['id']}/reject", token,
                  json={"reason": "Дубликат заявки"})
    assert r.status_code == 200, r.text
    page.get_by_role("button", name="Взять в работу").click()
    expect(page.get_by_role("alert")).to_contain_text("Заявку в статусе «Отклонена» нельзя принять")
    expect(page.get_by_role("heading", name="Заявка закрыта")).to_be_visible()


def test_the_operator_reviews_documents(page: Page, stack: Stack, customer: dict[str, Any]) -> None:
    account_id = stack.link_demo_account(customer["access_token"])
    copy = submit_document(stack, customer, account_id, "passport_copy", sample_png(),
                           "паспорт.png")
    passport = submit_document(stack, customer, account_id, "technical_passport", sample_pdf(),
                               "техпаспорт.pdf")
    log_in_by_email(page, stack.make_staff("operator"))
    page.get_by_role("link", name="Операторам").click()
    page.get_by_role("link", name="Документы для соц. нормы").click()
    expect(page.get_by_role("heading", name="Документы для соц. нормы")).to_be_visible()
    page.get_by_label("Филиал").select_option("mostovskoy")
    page.get_by_label("Статус").select_option(label="Подан")
    page.get_by_role("button", name="Показать").click()
    expect(page).to_have_url(re.compile(r"branch=mostovskoy"))
    # Oldest first, by pages: ours are the newest, on the last page.
    while page.get_by_role("button", name=f"Открыть документ № {copy['id']}").count() == 0:
        page.get_by_role("link", name="Следующие документы →").click()

    # The picture opens inline; rejecting needs a reason, told by its field.
    page.get_by_role("button", name=f"Открыть документ № {copy['id']}").click()
    expect(page.get_by_role("heading", name="Копия паспорта")).to_contain_text("На рассмотрении")
    expect(page.get_by_test_id("document-image")).to_be_visible()
    assert page.get_by_test_id("document-image").get_attribute("src").startswith(
        "data:image/png;base64,")
    page.get_by_role("button", name="Отклонить документ").click()
    expect(page.get_by_test_id("error-reason")).to_contain_text("Укажите причину отказа")
    page.get_by_label("Причина отказа").fill("Копия нечитаема, загрузите скан чётче")
    page.get_by_role("button", name="Отклонить документ").click()
    expect(page.get_by_role("status")).to_contain_text("Документ отклонён")

    # The PDF is offered to download; accepted with the category it supports.
    page.goto(f"/operator/documents/{passport['id']}")
    expect(page.get_by_role("button", name="Открыть")).to_be_visible()
    page.get_by_role("button", name="Открыть").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать PDF").click()
    assert download.value.suggested_filename == "техпаспорт.pdf"
    category = page.get_by_label("Категория тарифа")
    assert category.locator("option").all_inner_texts() == [
        "Не менять", "Дома с электроплитами", "Дома с электроотоплением"]
    category.select_option(label="Дома с электроплитами")
    page.get_by_role("button", name="Принять документ").click()
    expect(page.get_by_role("status")).to_contain_text("Документ принят")

    mine = {d["id"]: d for d in stack.api("GET", f"/accounts/{account_id}/documents",
                                          fresh_token(stack, customer)).json()["items"]}
    assert (mine[copy["id"]]["status"], mine[copy["id"]]["reason"]) == (
        "rejected", "Копия нечитаема, загрузите скан чётче")
    assert (mine[passport["id"]]["status"], mine[passport["id"]]["tariff_category"]) == (
        "accepted", "electric_stove")
    page.goto(f"/operator/documents/{passport['id']}")
    expect(page.get_by_role("heading", name="Решение принято")).to_be_visible()


def test_a_customer_is_not_let_into_the_operators_section(signed_in: Page) -> None:
    page = signed_in
    expect(page.get_by_role("link", name="Операторам")).to_have_count(0)
    answer = page.goto("/operator/requests")
    assert answer is not None and answer.status == 403
    expect(page.get_by_test_id("error-message")).to_have_text("Раздел только для операторов")
    answer = page.goto("/operator/documents")
    assert answer is not None and answer.status == 403


@pytest.mark.phone
def test_the_queue_and_a_request_fit_a_phone(page: Page, stack: Stack,
                                             ordered: dict[str, Any]) -> None:
    log_in_by_email(page, stack.make_staff("operator"))
    page.goto(f"/operator/requests?status=new&work={ordered['first']['work']['code']}")
    find_in_queue(page, ordered["first"]["id"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name=f"Заявка № {ordered['first']['id']}", exact=True).click()
    expect(page.get_by_role("button", name="Взять в работу")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    customer = {**ordered["customer"], "access_token": fresh_token(stack, ordered["customer"])}
    submit_document(stack, customer, ordered["account_id"], "technical_passport", sample_pdf(),
                    "технический-паспорт-квартиры-с-электроплитой.pdf")
    page.goto("/operator/documents")
    expect(page.get_by_role("button", name="Открыть").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

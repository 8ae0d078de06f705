"""РАЗДЕЛ «УСЛУГИ» in a browser: the catalogue, «+ Заказать услугу» with a file by the
paper-clip (and the errors of an empty form and of a file that is not a photo or PDF), «Мои
заявки», an operator's reply through the API read on the request's page, a reply with a
file, the file downloaded back, and «Отменить заявку»."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.stack import Stack


def png(color: str = "orange") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return buffer.getvalue()


def operator_token(stack: Stack) -> str:
    staff = stack.make_staff("operator")
    r = stack.api("POST", "/auth/login", json={"email": staff["email"],
                                               "password": staff["password"]})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def order_meter_replacement(page: Page) -> str:
    """Through the catalogue and the form, with a photo of the meter; the request's number."""
    page.goto("/services")
    page.get_by_role("link", name="+ Заказать услугу").click()
    expect(page.get_by_role("heading", name="Новая услуга")).to_be_visible()
    page.get_by_label("Услуга").select_option(label="Замена электросчетчика")
    page.get_by_label("Лицевой счёт").select_option(index=1)
    page.get_by_label("Сообщение").fill("Счётчик не крутится, нужна замена.")
    page.get_by_label("Прикрепить файлы").set_input_files(
        [{"name": "счётчик.png", "mimeType": "image/png", "buffer": png()}])
    page.get_by_label("Удобное время").fill("будни после 17:00")
    page.get_by_role("button", name="Отправить заявку").click()
    notice = page.get_by_role("status").filter(has_text="отправлена")
    expect(notice).to_be_visible()
    return re.search(r"№ (\d+)", notice.inner_text()).group(1)


def test_catalogue_then_order_with_errors_then_a_file(page: Page, with_account: dict) -> None:
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Услуги").click()
    expect(page.get_by_role("heading", name="Услуги", exact=True)).to_be_visible()
    catalogue = page.get_by_test_id("catalogue")
    for work in ("Замена электросчетчика", "Распломбировка", "Электромонтажные работы",
                 "Прочие услуги"):
        expect(catalogue.get_by_role("heading", name=work, exact=True)).to_be_visible()

    # «Заказать» on a work opens the form with that work chosen
    catalogue.get_by_role("link", name=re.compile("Заказать.*Электромонтажные работы")).click()
    expect(page.get_by_label("Услуга")).to_have_value("electrical_works")

    # an empty message: the message by its field; no account and no place either
    page.get_by_label("Лицевой счёт").select_option(value="")
    page.get_by_label("Контактный телефон").fill("")
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("Введите текст сообщения")
    expect(page.get_by_test_id("error-contact_phone")).to_be_visible()
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    # a work without an account needs the place: the service names the branch
    page.get_by_label("Сообщение").fill("Нужно заменить розетки на кухне.")
    page.get_by_label("Контактный телефон").fill("+7 918 123-45-67")
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_test_id("error-branch")).to_contain_text("филиал")

    # a text file by the paper-clip: refused by the file field, in Russian
    page.get_by_label("Филиал").select_option(index=1)
    page.get_by_label("Адрес, где нужны работы").fill("х. Садовый, ул. Ореховая, 12")
    page.get_by_label("Прикрепить файлы").set_input_files(
        [{"name": "заметка.txt", "mimeType": "text/plain", "buffer": "не фото".encode()}])
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_test_id("error-files")).to_contain_text("JPEG, PNG")
    expect(page.get_by_test_id("files-again")).to_be_visible()
    expect(page.get_by_label("Сообщение")).to_have_value("Нужно заменить розетки на кухне.")

    # with a photo it goes: «Мои заявки» shows it as new
    page.get_by_label("Прикрепить файлы").set_input_files(
        [{"name": "розетка.png", "mimeType": "image/png", "buffer": png("white")}])
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_role("status").filter(has_text="отправлена")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/services/requests$"))
    row = page.get_by_test_id("requests-table").get_by_role("row").filter(
        has_text="Электромонтажные работы")
    expect(row).to_contain_text("Новая")


def test_operator_replies_the_customer_reads_and_answers_then_cancels(
        page: Page, with_account: dict, stack) -> None:
    number = order_meter_replacement(page)
    row = page.get_by_test_id("requests-table").get_by_role("row").filter(
        has_text=f"№ {number}")
    expect(row).to_contain_text("Новая")
    expect(row).to_contain_text(with_account["number"])

    # the operator takes it and answers through the API
    token = operator_token(stack)
    accepted = stack.api("POST", f"/operator/requests/{number}/accept", token)
    assert accepted.status_code == 200, accepted.text
    replied = stack.api("POST", f"/operator/requests/{number}/messages", token, json={
        "text": "Здравствуйте! Мастер приедет во вторник с 10 до 12."})
    assert replied.status_code == 201, replied.text

    # «Мои заявки» marks the unread reply
    page.reload()
    row = page.get_by_test_id("requests-table").get_by_role("row").filter(
        has_text=f"№ {number}")
    expect(row).to_contain_text("Принята")
    expect(page.get_by_test_id(f"unread-{number}")).to_contain_text("Новый ответ")
    row.get_by_role("link", name=f"№ {number}").click()

    expect(page.get_by_role("heading", name=re.compile(f"Заявка № {number}"))).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_contain_text("Принята")
    chat = page.get_by_test_id("conversation")
    expect(chat).to_contain_text("Счётчик не крутится, нужна замена.")
    reply = chat.get_by_role("listitem").filter(has_text="Мастер приедет во вторник")
    expect(reply).to_contain_text("Оператор")
    expect(reply).to_contain_text("Новое")

    # the photo sent with the order comes back as it went
    with page.expect_download() as download:
        chat.get_by_role("link", name="счётчик.png").click()
    assert download.value.suggested_filename.endswith(".png")
    assert open(download.value.path(), "rb").read().startswith(b"\x89PNG")

    # an empty reply is refused by its field; then a reply with a file goes
    page.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_test_id("error-text")).to_contain_text("Введите текст сообщения")
    page.get_by_label("Ваше сообщение").fill("Спасибо, буду дома.")
    page.get_by_label("Прикрепить файлы").set_input_files(
        [{"name": "пломба.png", "mimeType": "image/png", "buffer": png("blue")}])
    page.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Сообщение отправлено")).to_be_visible()
    mine = page.get_by_test_id("conversation").get_by_role("listitem").filter(
        has_text="Спасибо, буду дома.")
    expect(mine).to_contain_text("Вы")
    expect(mine.get_by_role("link", name="пломба.png")).to_be_visible()
    # once read, the reply is no longer new
    expect(page.get_by_test_id("conversation").get_by_text("Новое")).to_have_count(0)

    # a long conversation shows the latest 20; «Ранее» steps back to the order's text
    for n in range(18):
        more = stack.api("POST", f"/operator/requests/{number}/messages", token,
                         json={"text": f"Уточнение {n + 1}"})
        assert more.status_code == 201, more.text
    page.reload()
    expect(chat).not_to_contain_text("Счётчик не крутится, нужна замена.")
    expect(chat).to_contain_text("Уточнение 18")
    page.get_by_test_id("chat-earlier").click()
    expect(chat).to_contain_text("Счётчик не крутится, нужна замена.")
    expect(page.get_by_test_id("chat-earlier")).to_have_count(0)
    page.get_by_test_id("chat-latest").click()
    expect(chat).to_contain_text("Уточнение 18")

    # «Отменить заявку» while no date is set
    page.get_by_text("Отменить заявку", exact=True).first.click()
    page.get_by_label("Причина отмены (необязательно)").fill("Починил сам.")
    page.get_by_role("button", name="Отменить заявку").click()
    expect(page.get_by_role("status").filter(has_text="Заявка отменена")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_contain_text("Отменена")
    expect(page.get_by_label("Ваше сообщение")).to_have_count(0)


@pytest.mark.phone
def test_order_form_on_a_phone(page: Page, with_account: dict) -> None:
    page.goto("/services")
    page.goto("/services/new")
    number = order_meter_replacement(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name=f"№ {number}").click()
    expect(page.get_by_test_id("conversation")).to_contain_text("Счётчик не крутится")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

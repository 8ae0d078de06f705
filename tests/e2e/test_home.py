"""Главная as a customer meets it: the empty home, «Добавить лицевой счёт» (a wrong proof
first, then paperless bills), the account's figures, «Заключить договор», the account's page
(trusted persons, removal), notices read one by one and all at once, and a phone screen."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in


def confirm_email(stack: Any, customer: dict[str, Any]) -> str:
    """Give the customer a confirmed e-mail (paperless bills need one), as the profile does."""
    email = f"home-{customer['phone'][2:]}@example.ru"
    r = stack.api("PUT", "/profile/contacts", customer["access_token"], json={"email": email})
    assert r.status_code == 200, r.text
    link = stack.mail_link(email, "profile/email/confirm")
    token = parse_qs(urlsplit(link).query)["token"][0]
    r = stack.api("GET", "/profile/email/confirm", params={"token": token})
    assert r.status_code == 200, r.text
    return email


def test_the_empty_home_offers_to_add_an_account_or_make_a_contract(signed_in: Page) -> None:
    page = signed_in
    page.goto("/")
    expect(page.get_by_role("heading", name="У вас нет лицевых счетов")).to_be_visible()
    expect(page.get_by_role("link", name="Добавить лицевой счёт")).to_be_visible()
    expect(page.get_by_role("link", name="Заключить договор")).to_be_visible()
    expect(page.get_by_test_id("unread")).to_have_text("0")


def test_adding_the_demo_account_wrong_proof_first_then_paperless(
        page: Page, stack: Any, customer: dict[str, Any]) -> None:
    email = confirm_email(stack, customer)
    log_in(page, customer["phone"], customer["password"])
    page.get_by_role("link", name="Добавить лицевой счёт").click()
    expect(page.get_by_role("heading", name="Добавить лицевой счёт")).to_be_visible()

    # Nothing filled: each field says what it needs.
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_test_id("error-summary")).to_be_visible()

    page.get_by_label("Номер лицевого счёта").fill("123456789")
    page.get_by_label("Филиал").select_option(label="Мостэнергосбыт")
    page.get_by_label("Последние 4 цифры номера счётчика").fill("1111")
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_test_id("error-proof")).to_contain_text("не совпадают")
    expect(page.get_by_label("Номер лицевого счёта")).to_have_value("123456789")
    expect(page.get_by_label("Филиал")).to_have_value("mostovskoy")

    page.get_by_label("Последние 4 цифры номера счётчика").fill("2333")
    page.get_by_label("Я согласен получать счета по e-mail").check()
    page.get_by_role("button", name="Отправить").click()

    expect(page.get_by_text("Лицевой счёт № 123456789 добавлен")).to_be_visible()
    expect(page.get_by_text("будут приходить на электронную почту")).to_be_visible()
    card = page.get_by_test_id("account-card")
    expect(card.get_by_role("heading", name="Лицевой счёт № 123456789")).to_be_visible()
    expect(card).to_contain_text("Мостэнергосбыт")
    expect(card.get_by_test_id("to-pay")).to_contain_text("₽")
    expect(card.get_by_test_id("debt")).to_contain_text("₽")
    expect(card.get_by_test_id("penalties")).to_contain_text("₽")
    expect(card.get_by_test_id("meter").first).to_contain_text("Счётчик №")
    expect(card.get_by_test_id("reading-window")).to_contain_text("Приём открыт")
    for name in ("Оплатить", "Передать показания", "Квитанция", "История"):
        expect(card.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_test_id("balance")).to_contain_text("₽")

    card.get_by_role("link", name="О лицевом счёте").click()
    expect(page.get_by_role("heading", name="Лицевой счёт № 123456789")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()

    # Already in the cabinet: said by the number.
    page.goto("/accounts/add")
    page.get_by_label("Номер лицевого счёта").fill("123456789")
    page.get_by_label("Филиал").select_option(label="Мостэнергосбыт")
    page.get_by_label("Последние 4 цифры номера счётчика").fill("2333")
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_test_id("error-number")).to_contain_text("уже добавлен")


def test_paperless_without_an_e_mail_still_links_the_account(signed_in: Page) -> None:
    page = signed_in
    page.goto("/accounts/add")
    page.get_by_label("Номер лицевого счёта").fill("123456789")
    page.get_by_label("Филиал").select_option(label="Мостэнергосбыт")
    page.get_by_label("Последние 4 цифры номера счётчика").fill("2333")
    page.get_by_label("Я согласен получать счета по e-mail").check()
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_text("Лицевой счёт № 123456789 добавлен")).to_be_visible()
    expect(page.get_by_text("Согласие на счета по e-mail не сохранено")).to_contain_text(
        "электронной почты")
    expect(page.get_by_test_id("account-card")).to_have_count(1)


def test_a_contract_request(signed_in: Page) -> None:
    page = signed_in
    page.goto("/")
    page.get_by_role("link", name="Заключить договор").click()
    expect(page.get_by_role("heading", name="Заключить договор")).to_be_visible()
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    expect(page.get_by_test_id("error-branch")).to_be_visible()

    page.get_by_label("Филиал").select_option(label="Мостэнергосбыт")
    page.get_by_label("ФИО").fill("Петров Иван Сергеевич")
    page.get_by_label("Адрес объекта").fill("х. Садовый, ул. Ореховая, д. 99Б, кв. 35")
    page.get_by_label("Телефон для связи").fill("+7 918 123-45-67")
    page.get_by_label("Комментарий").fill("Новое подключение дома")
    page.get_by_role("button", name="Отправить заявку").click()
    expect(page.get_by_role("heading", name="Заявка на заключение договора принята")
           ).to_be_visible()
    expect(page.get_by_test_id("contract-request-id")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Петров Иван Сергеевич")


def test_the_account_page_trusted_persons_and_removal(
        page: Page, stack: Any, with_account: dict[str, Any]) -> None:
    friend = stack.register_phone()
    page.goto("/")
    page.get_by_role("link", name="Лицевой счёт № 123456789").click()
    expect(page.get_by_role("heading", name="Лицевой счёт № 123456789")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Мостэнергосбыт")
    expect(page.get_by_role("heading", name="Счётчики")).to_be_visible()

    # Paperless without a confirmed e-mail: refused, in words.
    page.get_by_role("button", name="Получать счета по e-mail").click()
    expect(page.get_by_role("alert")).to_contain_text("электронной почты")

    # A trusted person: an unknown phone first, then the friend's.
    page.get_by_label("Телефон", exact=True).fill("+79000000001")
    page.get_by_role("button", name="Дать доступ").click()
    expect(page.get_by_test_id("error-phone")).to_contain_text("не зарегистрирован")
    page.get_by_label("Телефон", exact=True).fill(friend["phone"])
    page.get_by_label("Доступ", exact=True).select_option("full")
    page.get_by_role("button", name="Дать доступ").click()
    expect(page.get_by_text("Доступ предоставлен.")).to_be_visible()
    row = page.get_by_test_id("trusted-person")
    expect(row).to_contain_text(friend["phone"])
    expect(row).to_contain_text("Полный доступ")
    row.get_by_role("button", name="Отозвать доступ").click()
    expect(page.get_by_text("Доступ отозван.")).to_be_visible()
    expect(page.get_by_test_id("trusted-person")).to_have_count(0)

    # A stranger's account id is simply not there.
    response = page.goto(f"/accounts/{with_account['account_id'] + 100000}")
    assert response.status == 404
    expect(page.get_by_test_id("error-message")).to_contain_text("Такой страницы нет")

    page.goto(f"/accounts/{with_account['account_id']}")
    page.get_by_role("link", name="Убрать лицевой счёт из кабинета").click()
    expect(page.get_by_role("heading", name=re.compile("Убрать лицевой счёт № 123456789"))
           ).to_be_visible()
    page.get_by_role("button", name="Да, убрать").click()
    expect(page.get_by_text("Лицевой счёт № 123456789 убран")).to_be_visible()
    expect(page.get_by_role("heading", name="У вас нет лицевых счетов")).to_be_visible()


def test_notices_read_one_then_all_and_the_header_count_drops(
        page: Page, stack: Any, customer: dict[str, Any]) -> None:
    # Another holder gives this customer access to two accounts: each grant is a notice
    # «Вам предоставлен доступ к счёту».
    holder = stack.register_phone()
    demo = stack.link_demo_account(holder["access_token"])
    r = stack.api("POST", "/accounts", holder["access_token"], json={
        "number": "230100245871", "branch": "krasnodar", "proof": "2155"})
    assert r.status_code == 201, r.text
    for account_id in (r.json()["id"], demo):
        r = stack.api("POST", f"/accounts/{account_id}/trusted", holder["access_token"],
                      json={"phone": customer["phone"], "access": "read"})
        assert r.status_code == 201, r.text

    log_in(page, customer["phone"], customer["password"])
    expect(page.get_by_test_id("unread")).to_have_text("2")
    page.get_by_role("link", name=re.compile("Непрочитанных уведомлений")).click()
    expect(page.get_by_role("heading", name="Уведомления", exact=True)).to_be_visible()
    notices = page.get_by_test_id("notice")
    expect(notices).to_have_count(2)
    expect(notices.first).to_contain_text("Вам предоставлен доступ к счёту")
    expect(notices.first).to_contain_text("123456789")

    notices.first.get_by_role("button", name=re.compile("Прочитано")).click()
    expect(page.get_by_test_id("unread")).to_have_text("1")
    expect(page.get_by_test_id("unread-count")).to_contain_text("Непрочитанных: 1")
    expect(page.get_by_role("button", name=re.compile("Прочитано"))).to_have_count(1)

    page.get_by_role("button", name="Отметить все прочитанными").click()
    expect(page.get_by_text("Все уведомления отмечены прочитанными.")).to_be_visible()
    expect(page.get_by_test_id("unread")).to_have_text("0")
    expect(page.get_by_role("button", name=re.compile("Прочитано"))).to_have_count(0)


@pytest.mark.phone
def test_the_home_on_a_phone(page: Page, with_account: dict[str, Any]) -> None:
    page.goto("/")
    card = page.get_by_test_id("account-card")
    expect(card.get_by_role("heading", name="Лицевой счёт № 123456789")).to_be_visible()
    expect(card.get_by_role("link", name="Оплатить")).to_be_visible()
    expect(card.get_by_role("link", name="Передать показания")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_be_visible()
    expect(page.get_by_test_id("unread")).to_be_visible()
    # Nothing wider than the screen, here and on the account's page and the forms.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for path in (f"/accounts/{with_account['account_id']}", "/accounts/add", "/contract",
                 "/notices"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
